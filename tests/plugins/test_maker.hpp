#pragma once

// A minimal service maker for the misbehaving test plugins; each one breaks a different rule around it.

#include <cppd/plugin.hpp>
#include <cstdlib>

namespace cppd_test {

/// True while cppd_add_plugin's note writer describes the plugin at build time: the plugins that misbehave when
/// loaded do so only at run time, so they can be built (and cppd must list them without running them).
inline bool describedAtBuildTime() { return std::getenv("CPPD_PLUGIN_NOTE_TOOL") != nullptr; }

class NamedMaker : public cppd::IServiceMaker {
 public:
  explicit NamedMaker(std::string tapname) : tapname_(std::move(tapname)) {}
  std::string tapname() const override { return tapname_; }
  std::string description() const override { return "A test plugin named " + tapname_ + "."; }
  std::vector<cppd::OptionSpec> options() const override { return {}; }
  std::shared_ptr<cppd::IService> makeService(const cppd::Options&) override {
    return std::make_shared<cppd::Service>();
  }

 private:
  std::string tapname_;
};

}  // namespace cppd_test
