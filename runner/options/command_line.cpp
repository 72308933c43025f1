#include "options/command_line.hpp"

#include <fmt/format.h>

#include <cppd/application.hpp>
#include <cppd/error.hpp>
#include <cppd/version.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "control/single_process_daemon.hpp"
#include "lifecycle/application_runner.hpp"
#include "deployment/deployment.hpp"
#include "deployment/deployment_file.hpp"
#include "plugin/plugin_listing.hpp"
#include "plugin/plugin_loader.hpp"
#include "options/plugin_options.hpp"
#include "plugin/plugin_registry.hpp"
#include "lifecycle/run_state.hpp"
#include "process/root_policy.hpp"
#include "reload/handover.hpp"
#include "reload/process_image.hpp"
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

// Without the user and group looked up: dispatch and runDeploymentFile do that once (resolveUsers).
ServerOptions parseRunnerOptions(const std::vector<std::string>& args,
                                 std::map<std::string, OptionValue> preset = {}) {
  try {
    return parseServerOptions(args, std::move(preset), AccountLookup::later);
  } catch (const UsageErrorWithHelp&) {
    throw;
  } catch (const UsageError& e) {
    throw UsageErrorWithHelp(e.what(), runnerUsage());
  }
}

// Looks up --uid and --gid (those found already are not looked up again), refused with the runner's usage.
void resolveUsers(ServerOptions& options, const AccountLookups& found = {}) {
  try {
    resolveAccounts(options, found);
  } catch (const UsageError& e) {
    throw UsageErrorWithHelp(e.what(), runnerUsage());
  }
}

PluginCatalog discover(const ServerOptions& options) {
  DiscoverySettings settings;
  settings.directories =
      pluginSearchPath(options.pluginPath, std::getenv("CPPD_PLUGIN_PATH"), builtInPluginDirectory());
  settings.trust = TrustPolicy::current();
  settings.useNoteCache = true;
  return discoverPlugins(settings);
}

// --check: everything up to here (the options, the file, the plugins' notes, trust and code, the services they
// made) is what a start would use; say what would run, and run nothing.
int reportCheck(const ServerOptions& options, Deployment& deployment) {
  refuseRootFileServers(options, privilegeTarget(options), deployment.fileServers, systemPrimitives());
  const SingleProcessDaemon view(deployment.app, DaemonFacts{}, describePlugins(deployment.plugins), {});
  const auto services = view.services();
  std::string text = fmt::format("cppd: {}: OK, {} service{}{}\n", options.config ? *options.config : options.command,
                                 services.size(), services.size() == 1 ? "" : "s",
                                 options.workers ? fmt::format(", {} workers", *options.workers) : "");
  for (const auto& service : services) {
    std::string endpoints;
    for (const auto& endpoint : service.endpoints) endpoints += (endpoints.empty() ? "" : " ") + endpoint;
    text += fmt::format("  {}  {}\n", service.name, endpoints.empty() ? "(no listening port)" : endpoints);
  }
  print(stdout, text);
  deployment.release();
  return 0;
}

// Runs what a deployment built, then releases the services before the plugins whose code they run.
int runDeployment(const ServerOptions& options, Deployment deployment) {
  if (options.check) return reportCheck(options, deployment);
  ApplicationRunner runner(options);
  runner.setPlugins(describePlugins(deployment.plugins));
  const int status = runner.run(deployment.app, deployment.summary, deployment.fileServers, deployment.firstWorkerOnly);
  deployment.release();
  return status;
}

// `cppd PLUGIN [plugin options]` is parsed against the options the plugin's note declares, without loading the
// plugin: --help and the usage errors are answered from there. nullopt for an unknown plugin (buildDeployment
// says so, with the plugins that are known).
std::optional<PluginCommandLine> parseFromNote(const ServerOptions& options, const PluginCatalog& catalog) {
  const PluginInfo* info = catalog.find(options.command);
  if (info == nullptr) return std::nullopt;
  PluginNote note;
  try {
    note = info->note();
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("plugin {}: {}", info->path, e.what()));
  }
  const auto& specs = note.options;
  PluginCommandLine parsed;
  try {
    parsed = parsePluginOptions(info->tapname, specs, options.commandArgs, options.launchDir);
  } catch (const UsageError& e) {
    throw UsageErrorWithHelp(e.what(), pluginUsage(info->tapname, note.description, specs));
  }
  if (parsed.help) print(stdout, pluginUsage(info->tapname, note.description, specs));
  return parsed;
}

// `cppd [options] TAPNAME [plugin options]`: a deployment of one service with the options parsed from the note.
// buildDeployment has checked that the plugin's code declares the same ones before it reads them, so only their
// validators, which are code and not in the note, are left to run.
DeploymentDescription commandLineDeployment(const ServerOptions& options, Options parsed) {
  ServiceRequest request;
  request.plugin = request.name = options.command;
  request.readOptions = [parsed = std::move(parsed)](const LoadedPlugin& plugin,
                                                     const std::vector<OptionSpec>& specs) {
    try {
      runValidators(plugin.tapname, specs, parsed);
    } catch (const UsageError& e) {
      throw UsageErrorWithHelp(e.what(), pluginUsage(plugin.tapname, plugin.description, specs));
    }
    return parsed;
  };
  DeploymentDescription description;
  description.services.push_back(std::move(request));
  return description;
}

// `cppd -y FILE`: the file's [cppd] table gives typed runner options, which the command line overrides; each
// [[service]] table is a service, its keys its options.
int runDeploymentFile(int argc, char** argv, const ServerOptions& cli) {
  if (!cli.command.empty()) {
    throw UsageError(fmt::format("give either a deployment file (-y {}) or a plugin name ('{}'), not both",
                                 *cli.config, cli.command));
  }
  const DeploymentFile file = readDeploymentFile(*cli.config);
  AccountLookups found;  // the [cppd] table's user and group, looked up with its other checks
  ServerOptions options =
      parseRunnerOptions(std::vector<std::string>(argv + 1, argv + argc), runnerOptions(file, cli.launchDir, &found));
  resolveUsers(options, found);
  DeploymentDescription description;
  description.file = file.path;
  description.refusal = ErrorKind::config;
  for (const auto& service : file.services) {
    ServiceRequest request;
    request.plugin = service.plugin;
    request.name = service.name;
    request.where = describeServiceError(file, service, "");
    request.firstWorkerOnly = service.firstWorkerOnly;
    request.readOptions = [&file, &service, &options](const LoadedPlugin& plugin,
                                                      const std::vector<OptionSpec>& specs) {
      return serviceOptions(file, service, plugin.tapname, specs, options.launchDir);
    };
    description.services.push_back(std::move(request));
  }
  return runDeployment(options, buildDeployment(description, discover(options)));
}

int dispatch(int argc, char** argv) {
  ServerOptions options = parseRunnerOptions(std::vector<std::string>(argv + 1, argv + argc));
  if (options.config && !options.version && !options.help && !options.listPlugins) {
    return runDeploymentFile(argc, argv, options);
  }
  resolveUsers(options);
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
  auto parsed = parseFromNote(options, catalog);
  if (parsed && parsed->help) return 0;
  Options pluginOptions = parsed ? std::move(parsed->options) : Options{};  // none for an unknown plugin
  auto description = commandLineDeployment(options, std::move(pluginOptions));
  return runDeployment(options, buildDeployment(description, std::move(catalog)));
}

}  // namespace

int runCommandLine(int argc, char** argv) {
  ensureStandardDescriptors();
  ProcessImage::remember(argc, argv);  // what a reload runs again
  try {
    startedWithHandover() = Handover::fromEnvironment();
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
