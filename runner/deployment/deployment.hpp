#pragma once

// Turns a deployment file into one Application: each [[service]] is made by its plugin, named, and becomes a
// child of the application, so the services share one process, one pidfile, one log and one privilege drop.

#include <memory>
#include <string>
#include <vector>

#include <cppd/application.hpp>

#include "deployment/deployment_file.hpp"
#include "plugin/plugin_loader.hpp"
#include "plugin/plugin_registry.hpp"

namespace cppd::runner {

struct Deployment {
  std::shared_ptr<Application> app;
  std::vector<LoadedPlugin> plugins;  // each loaded once; their code outlives app
  std::string summary;                // "fastpoetry as 'ecstasy', fastpoetry as 'second' (from FILE)"
  std::vector<std::string> fileServers;  // "ftp (service 'anon')" for each service whose plugin servesFiles()
};

/// Builds the application described by file, looking plugins up in catalog and resolving relative option paths
/// against launchDir. Every error is a cppd::Error(config) naming the file, the service's line and its name
/// ("FILE:7: service 'ecstasy': option --poem is required"), except a plugin that cannot load (its own kind).
Deployment buildDeployment(const DeploymentFile& file, const PluginCatalog& catalog, const std::string& launchDir);

}  // namespace cppd::runner
