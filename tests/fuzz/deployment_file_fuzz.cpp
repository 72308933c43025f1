// The deployment file (`cppd -y FILE`), the way the runner uses it: read and check the TOML, feed the [cppd]
// table's typed values into the runner's options, and feed each [[service]]'s typed values into the options of a
// fixed plugin declaration (fuzz_specs.hpp). Input: the file's bytes, written to a scratch file on a tmpfs.
// Checks: every refusal is a cppd::Error; errors from the file name it ("FILE:LINE: ...").

#include <deployment/deployment_file.hpp>
#include <options/server_options.hpp>

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

  try {
    const auto runner = cppd::runner::runnerOptions(file, "/launch");
    cppd::fuzz::refusedOrAccepted("parseServerOptions(runnerOptions)",
                                  [&] { (void)cppd::runner::parseServerOptions({"-n"}, runner); });
  } catch (const cppd::Error& e) {
    checkNamesFile(e, path);
  } catch (const std::exception& e) {
    cppd::fuzz::fail(std::string("runnerOptions threw an undocumented ") + typeid(e).name() + ": " + e.what());
  }
  for (const auto& service : file.services) {
    (void)cppd::runner::describeServiceError(file, service, "fuzz");
    try {
      const auto options =
          cppd::runner::serviceOptions(file, service, "fuzzplugin", cppd::fuzz::pluginSpecs(), "/launch");
      cppd::fuzz::checkParsedOptions(options);
    } catch (const cppd::Error& e) {
      checkNamesFile(e, path);
    } catch (const std::exception& e) {
      cppd::fuzz::fail(std::string("serviceOptions threw an undocumented ") + typeid(e).name() + ": " + e.what());
    }
  }
  return 0;
}
