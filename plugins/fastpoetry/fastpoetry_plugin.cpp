// The fastpoetry plugin: `cppd fastpoetry --port 10000 --poem poetry/ecstasy.txt [--iface localhost]`.
#include <memory>
#include <string>
#include <vector>

#include <cppd/endpoint.hpp>
#include <cppd/error.hpp>
#include <cppd/plugin.hpp>

#include "poetry_service.hpp"

namespace fastpoetry {
namespace {

// An empty --iface would make a bare --port listen on every interface: exposure nobody asked for by name.
void refuseEmptyInterface(const std::string& value) {
  if (value.empty()) {
    throw cppd::UsageError("'' names no interface; give the address a bare --port listens on (127.0.0.1, ::1, "
                           "localhost), or 0.0.0.0 for every IPv4 interface");
  }
}

}  // namespace

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
        {.longName = "iface", .help = "The interface a bare --port number listens on.", .defaultValue = "localhost",
         .validator = refuseEmptyInterface},
    };
  }

  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    return std::make_shared<PoetryService>(options.get<std::string>("poem"),
                                           options.endpoint("port", options.get<std::string>("iface")));
  }
};

}  // namespace fastpoetry

CPPD_PLUGIN(fastpoetry::FastPoetryMaker)
