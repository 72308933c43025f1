// The deployment file (`cppd -y FILE`), the way the runner uses it: read and check the TOML, turn the [cppd]
// table into runner arguments and parse them, and turn each [[service]] into plugin arguments for a fixed plugin
// declaration (fuzz_specs.hpp) and parse those. Input: the file's bytes, written to a scratch file on a tmpfs.
// Checks: every refusal is a cppd::Error; errors from the file name it ("FILE:LINE: ...").

#include <deployment_file.hpp>
#include <plugin_options.hpp>
#include <server_options.hpp>

#include "fuzz_specs.hpp"

namespace {

cppd::fuzz::ScratchFile& scratch() {
  static cppd::fuzz::ScratchFile file("deployment.toml");
  return file;
}

void checkNamesFile(const cppd::Error& e, const std::string& path) {
  const std::string what = e.what();
  cppd::fuzz::check(what.rfind(path + ":", 0) == 0, "an error about the deployment file does not start with '" +
                                                        path + ":LINE: ': " + what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  scratch().write(data, size);
  const std::string& path = scratch().path();

  cppd::runner::DeploymentFile file;
  try {
    file = cppd::runner::readDeploymentFile(path);
  } catch (const cppd::Error& e) {
    checkNamesFile(e, path);
    return 0;
  } catch (const std::exception& e) {
    cppd::fuzz::fail(std::string("readDeploymentFile threw an undocumented ") + typeid(e).name() + ": " + e.what());
  }

  cppd::fuzz::refusedOrAccepted("parseServerOptions(runnerArgs)",
                                [&] { (void)cppd::runner::parseServerOptions(file.runnerArgs); });
  for (const auto& service : file.services) {
    std::vector<std::string> args;
    try {
      args = cppd::runner::pluginArguments(file, service, cppd::fuzz::pluginSpecs());
    } catch (const cppd::Error& e) {
      checkNamesFile(e, path);
      continue;
    } catch (const std::exception& e) {
      cppd::fuzz::fail(std::string("pluginArguments threw an undocumented ") + typeid(e).name() + ": " + e.what());
    }
    (void)cppd::runner::describeServiceError(file, service, "fuzz");
    cppd::runner::PluginCommandLine parsed;
    if (cppd::fuzz::refusedOrAccepted("parsePluginOptions(pluginArguments)", [&] {
          parsed = cppd::runner::parsePluginOptions(service.plugin, cppd::fuzz::pluginSpecs(), args, "/launch");
        }) &&
        !parsed.help) {
      cppd::fuzz::checkParsedOptions(parsed.options);
    }
  }
  return 0;
}
