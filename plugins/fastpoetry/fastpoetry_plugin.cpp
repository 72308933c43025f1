// The fastpoetry plugin: `cppd fastpoetry --port 10000 --poem poetry/ecstasy.txt [--iface localhost]`.
#include <memory>
#include <string>
#include <vector>

#include <cppd/endpoint.hpp>
#include <cppd/plugin.hpp>

#include "poetry_service.hpp"

namespace fastpoetry {

class FastPoetryMaker final : public cppd::IServiceMaker {
 public:
  std::string tapname() const override { return "fastpoetry"; }

  std::string description() const override { return "A fast poetry service: sends a poem to every client."; }

  std::vector<cppd::OptionSpec> options() const override {
    using cppd::OptionKind;
    return {
        {.longName = "port", .shortName = "p", .help = "The endpoint to listen on, or a bare port number (on --iface).",
         .defaultValue = "10000", .kind = OptionKind::endpoint},
        {.longName = "poem", .help = "The file holding the poem to serve.", .kind = OptionKind::path, .required = true},
        {.longName = "iface", .help = "The interface a bare --port number listens on.", .defaultValue = "localhost"},
    };
  }

  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    return std::make_shared<PoetryService>(options.get<std::string>("poem"),
                                           options.endpoint("port", options.get<std::string>("iface")));
  }
};

}  // namespace fastpoetry

CPPD_PLUGIN(fastpoetry::FastPoetryMaker)
