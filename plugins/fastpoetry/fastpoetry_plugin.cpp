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
    cppd::OptionSpec port{"port", "p", "The endpoint to listen on, or a bare port number (on --iface).", "10000",
                          cppd::OptionKind::endpoint, false, nullptr};
    cppd::OptionSpec poem{"poem", "", "The file holding the poem to serve.", "", cppd::OptionKind::path, true, nullptr};
    cppd::OptionSpec iface{"iface", "", "The interface a bare --port number listens on.", "localhost",
                           cppd::OptionKind::string, false, nullptr};
    return {port, poem, iface};
  }

  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    const cppd::Endpoint endpoint = cppd::Endpoint::parse(options.text("port"), options.get<std::string>("iface", "localhost"));
    return std::make_shared<PoetryService>(options.text("poem"), endpoint);
  }
};

}  // namespace fastpoetry

CPPD_PLUGIN(fastpoetry::FastPoetryMaker)
