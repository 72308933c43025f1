#include "deployment/deployment.hpp"

#include <map>
#include <utility>

#include <fmt/format.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>

#include "plugin/plugin_listing.hpp"
#include "options/plugin_options.hpp"

namespace cppd::runner {
namespace {

// Runs a deployed service's start and stop inside a log context naming it, so its log lines say which service
// of the deployment they come from ("[ecstasy] loaded a poem from: ...").
class NamedService final : public MultiService {
 public:
  NamedService(std::string name, std::shared_ptr<IService> inner) : MultiService(std::move(name)) {
    inner->setServiceParent(*this);
  }
  void privilegedStartService() override {
    LogContext context(name());
    MultiService::privilegedStartService();
  }
  void startService() override {
    LogContext context(name());
    MultiService::startService();
  }
  Completion stopService() override {
    LogContext context(name());
    return MultiService::stopService();
  }
};

const LoadedPlugin& pluginFor(const DeploymentFile& file, const DeployedService& service, const PluginCatalog& catalog,
                              std::map<std::string, LoadedPlugin>& loaded) {
  if (auto it = loaded.find(service.plugin); it != loaded.end()) return it->second;
  const PluginInfo* info = catalog.find(service.plugin);
  if (info == nullptr) {
    std::string message = unknownCommandMessage(service.plugin, catalog);
    if (message.rfind("unknown command", 0) == 0) message.replace(0, 15, "unknown plugin");
    throw Error(ErrorKind::config, describeServiceError(file, service, message));
  }
  try {
    return loaded.emplace(service.plugin, loadPlugin(info->file, info->note)).first->second;
  } catch (const Error& e) {
    throw Error(e.kind(), describeServiceError(file, service, fmt::format("plugin {}: {}", info->path, e.what())));
  }
}

std::shared_ptr<IService> makeDeployedService(const DeploymentFile& file, const DeployedService& service,
                                              const LoadedPlugin& plugin, const std::string& launchDir) {
  auto fail = [&](ErrorKind kind, const std::string& message) {
    return Error(kind, describeServiceError(file, service, message));
  };
  try {
    auto specs = plugin.maker->options();
    auto args = pluginArguments(file, service, specs);  // unknown keys and wrong types, with their own lines
    auto parsed = parsePluginOptions(plugin.tapname, specs, args, launchDir);
    auto made = plugin.maker->makeService(parsed.options);
    if (!made) throw fail(ErrorKind::software, "makeService returned no service");
    return made;
  } catch (const UsageError& e) {
    throw fail(ErrorKind::config, e.what());
  } catch (const Error& e) {
    // pluginArguments already named the file and line.
    if (std::string(e.what()).rfind(file.path + ":", 0) == 0) throw;
    throw fail(e.kind(), e.what());
  } catch (const std::exception& e) {
    throw fail(ErrorKind::software, fmt::format("plugin {}: makeService failed: {}", plugin.tapname, e.what()));
  } catch (...) {
    throw fail(ErrorKind::software,
               fmt::format("plugin {}: makeService threw an exception not derived from std::exception", plugin.tapname));
  }
}

}  // namespace

Deployment buildDeployment(const DeploymentFile& file, const PluginCatalog& catalog, const std::string& launchDir) {
  Deployment deployment;
  deployment.app = std::make_shared<Application>("cppd");
  std::map<std::string, LoadedPlugin> loaded;
  std::string parts;
  for (const auto& service : file.services) {
    const LoadedPlugin& plugin = pluginFor(file, service, catalog, loaded);
    auto made = makeDeployedService(file, service, plugin, launchDir);
    auto named = std::make_shared<NamedService>(service.name, std::move(made));
    named->setServiceParent(*deployment.app);  // names are unique: readDeploymentFile checked them
    parts += (parts.empty() ? "" : ", ") + plugin.tapname + " as '" + service.name + "'";
    if (plugin.maker->servesFiles()) {
      deployment.fileServers.push_back(fmt::format("{} (service '{}')", plugin.tapname, service.name));
    }
  }
  for (auto& [tapname, plugin] : loaded) deployment.plugins.push_back(std::move(plugin));
  deployment.summary = parts + " (from " + file.path + ")";
  return deployment;
}

}  // namespace cppd::runner
