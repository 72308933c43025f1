#pragma once

// The start-up pipeline's middle: from a description of what to run to one Application. A command line is a
// deployment of one service; a deployment file (-y) one of several. Each service's plugin is loaded once, its
// options read, its service made and named; the services share one process, one pidfile, one log and one
// privilege drop. buildDeployment can be called again (a reload, a worker) with a fresh description.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <cppd/application.hpp>
#include <cppd/error.hpp>
#include <cppd/option_spec.hpp>
#include <cppd/options.hpp>

#include "plugin/plugin_loader.hpp"
#include "plugin/plugin_registry.hpp"

namespace cppd::runner {

/// One service to make.
struct ServiceRequest {
  std::string plugin;  // the tapname to find in the catalog
  std::string name;    // the service's name in the application
  /// Reads the service's options against the plugin's declarations, throwing complete messages (a command
  /// line's usage errors, a file's "FILE:LINE: ...").
  std::function<Options(const LoadedPlugin&, const std::vector<OptionSpec>&)> readOptions;
  /// Put before errors about this service that the reader did not word ("FILE:7: service 'ecstasy': ").
  std::string where;
  bool firstWorkerOnly = false;  // a deployment file's `workers = 1`
};

struct DeploymentDescription {
  std::vector<ServiceRequest> services;
  std::string file;  // the deployment file; empty for a command line (one service, named after its plugin)
  /// The kind of a plugin's refusal (a cppd::UsageError from makeService) and of an unknown plugin: usage (64)
  /// on a command line, config (78) in a deployment file.
  ErrorKind refusal = ErrorKind::usage;
};

struct Deployment {
  std::shared_ptr<Application> app;
  std::vector<LoadedPlugin> plugins;     // each loaded once; their code outlives app
  std::string summary;                   // "fastpoetry (/p/fastpoetry.so)", "fastpoetry as 'a', ... (from FILE)"
  std::vector<std::string> fileServers;  // "ftp", or "ftp (service 'anon')", for each plugin that servesFiles()
  std::vector<std::string> firstWorkerOnly;  // names of the services only worker 1 runs (`workers = 1`)

  /// Releases the services before the plugins whose code they run.
  void release();
};

/// Builds the application of description from the plugins in catalog (taken, so the files of the plugins not
/// loaded are closed before the daemon is made). Throws cppd::Error: an unknown plugin (description.refusal),
/// a plugin that cannot load (its kind), the readers' errors, and the plugins' errors through callPlugin().
Deployment buildDeployment(const DeploymentDescription& description, PluginCatalog catalog);

}  // namespace cppd::runner
