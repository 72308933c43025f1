#include "options/command_line.hpp"

#include <fmt/format.h>

#include <cppd/application.hpp>
#include <cppd/error.hpp>
#include <cppd/version.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lifecycle/application_runner.hpp"
#include "deployment/deployment.hpp"
#include "deployment/deployment_file.hpp"
#include "plugin/plugin_listing.hpp"
#include "plugin/plugin_loader.hpp"
#include "options/plugin_options.hpp"
#include "plugin/plugin_registry.hpp"
#include "process/process_primitives.hpp"
#include "options/server_options.hpp"

namespace cppd::runner {
namespace {

void print(std::FILE* stream, const std::string& text) { std::fwrite(text.data(), 1, text.size(), stream); }

// A usage error shown with the usage it concerns (the plugin's options, or the runner's), as twistd does: the
// one-line reason first, so it is what the eye meets, then the options to choose from.
class UsageErrorWithHelp : public UsageError {
 public:
  UsageErrorWithHelp(const std::string& message, std::string usage) : UsageError(message), usage_(std::move(usage)) {}
  const std::string& usage() const noexcept { return usage_; }

 private:
  std::string usage_;
};

std::string runnerUsage() { return "Usage: cppd [options] COMMAND [command options]\n\n" + serverOptionsUsage(); }

ServerOptions parseRunnerOptions(const std::vector<std::string>& args) {
  try {
    return parseServerOptions(args);
  } catch (const UsageErrorWithHelp&) {
    throw;
  } catch (const UsageError& e) {
    throw UsageErrorWithHelp(e.what(), runnerUsage());
  }
}

PluginCatalog discover(const ServerOptions& options) {
  DiscoverySettings settings;
  settings.directories =
      pluginSearchPath(options.pluginPath, std::getenv("CPPD_PLUGIN_PATH"), builtInPluginDirectory());
  settings.trust = TrustPolicy::current();
  return discoverPlugins(settings);
}

// Calls into plugin code, turning its exceptions into cppd errors that name the plugin. cppd::Error keeps its
// kind (a UsageError from makeService is the user's mistake, exit 64); anything else is the plugin's fault (70).
template <typename Fn>
auto callPlugin(const std::string& tapname, const char* what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{}: {}", tapname, e.what()));
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("{}: {}", tapname, e.what()));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::software, fmt::format("plugin {}: {} failed: {}", tapname, what, e.what()));
  } catch (...) {
    throw Error(ErrorKind::software,
                fmt::format("plugin {}: {} threw an exception not derived from std::exception", tapname, what));
  }
}

// `cppd PLUGIN --help` is answered from the plugin's note, without loading it; so are usage errors the options
// declared in the note catch. Only the validators need the loaded plugin.
PluginCommandLine parseWithHelp(const std::string& tapname, const std::string& description,
                                const std::vector<OptionSpec>& specs, const ServerOptions& options) {
  try {
    return parsePluginOptions(tapname, specs, options.commandArgs, options.launchDir);
  } catch (const UsageError& e) {
    throw UsageErrorWithHelp(e.what(), pluginUsage(tapname, description, specs));
  }
}

int runPlugin(const ServerOptions& options, PluginInfo info) {
  if (parseWithHelp(info.tapname, info.description, info.note.options, options).help) {
    print(stdout, pluginUsage(info.tapname, info.description, info.note.options));
    return 0;
  }
  LoadedPlugin plugin;
  try {
    plugin = loadPlugin(info.file, info.note);
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("plugin {}: {}", info.path, e.what()));
  }
  info.file = PluginFile();  // loaded: its descriptor is not for the daemon, which closes what it does not know
  const std::string& tapname = plugin.tapname;
  auto specs = callPlugin(tapname, "options()", [&] { return plugin.maker->options(); });
  PluginCommandLine parsed = parseWithHelp(tapname, plugin.description, specs, options);
  auto service = callPlugin(tapname, "makeService", [&] { return plugin.maker->makeService(parsed.options); });
  if (!service) throw Error(ErrorKind::software, fmt::format("plugin {}: makeService returned no service", tapname));
  auto app = std::make_shared<Application>(tapname);
  service->setServiceParent(*app);
  service.reset();
  std::vector<std::string> fileServers;
  if (plugin.maker->servesFiles()) fileServers.push_back(tapname);
  ApplicationRunner runner(options);
  int status = runner.run(app, fmt::format("{} ({})", tapname, plugin.path), fileServers);
  // Services first, then the maker: their code lives in the plugin, which stays loaded for the process lifetime.
  app.reset();
  plugin.maker.reset();
  return status;
}

// `cppd -y FILE`: the file's [cppd] table gives runner options, which the command line then overrides.
int runDeploymentFile(int argc, char** argv, const ServerOptions& cli) {
  if (!cli.command.empty()) {
    throw UsageError(fmt::format("give either a deployment file (-y {}) or a plugin name ('{}'), not both",
                                 *cli.config, cli.command));
  }
  const DeploymentFile file = readDeploymentFile(*cli.config);
  std::vector<std::string> args = file.runnerArgs;
  args.insert(args.end(), argv + 1, argv + argc);
  const ServerOptions options = parseRunnerOptions(args);
  Deployment deployment = buildDeployment(file, discover(options), options.launchDir);
  ApplicationRunner runner(options);
  int status = runner.run(deployment.app, deployment.summary, deployment.fileServers);
  deployment.app.reset();  // services before makers: their code lives in the plugins
  deployment.plugins.clear();
  return status;
}

int dispatch(int argc, char** argv) {
  ServerOptions options = parseRunnerOptions(std::vector<std::string>(argv + 1, argv + argc));
  if (options.config && !options.version && !options.help && !options.listPlugins) {
    return runDeploymentFile(argc, argv, options);
  }
  if (options.version) {
    print(stdout,
          fmt::format("cppd (the C++ daemon runner) {}\nplugin SDK ABI {}\n", versionString(), sdkAbiVersion()));
    return 0;
  }
  PluginCatalog catalog = discover(options);
  if (options.listPlugins) {
    print(stdout, pluginList(catalog, options.verbose));
    return 0;
  }
  if (options.help || options.command.empty()) {
    print(stdout, mainUsage(catalog, serverOptionsUsage()));
    return 0;
  }
  const PluginInfo* info = catalog.find(options.command);
  if (info == nullptr) throw UsageError(unknownCommandMessage(options.command, catalog));
  PluginInfo chosen = *info;
  catalog = PluginCatalog();  // closes the other plugin files before the daemon is made
  return runPlugin(options, std::move(chosen));
}

}  // namespace

int runCommandLine(int argc, char** argv) {
  ensureStandardDescriptors();
  try {
    return dispatch(argc, argv);
  } catch (const UsageErrorWithHelp& e) {
    print(stderr, fmt::format("cppd: {}\n\n{}", e.what(), e.usage()));
    return exitCodeFor(e.kind());
  } catch (const Error& e) {
    print(stderr, fmt::format("cppd: {}\n", e.what()));
    return exitCodeFor(e.kind());
  } catch (const std::exception& e) {
    print(stderr, fmt::format("cppd: internal error: {}\n", e.what()));
    return exitCodeFor(ErrorKind::software);
  }
}

}  // namespace cppd::runner
