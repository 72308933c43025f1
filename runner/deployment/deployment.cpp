#include "deployment/deployment.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include <fmt/format.h>

#include <cppd/log.hpp>
#include <cppd/multi_service.hpp>

#include "plugin/plugin_call.hpp"
#include "plugin/plugin_listing.hpp"

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

// Loads request's plugin, once per plugin however many services use it.
const LoadedPlugin& pluginFor(const DeploymentDescription& description, const ServiceRequest& request,
                              const PluginCatalog& catalog, std::map<std::string, LoadedPlugin>& loaded) {
  if (auto it = loaded.find(request.plugin); it != loaded.end()) return it->second;
  const PluginInfo* info = catalog.find(request.plugin);
  if (info == nullptr) {
    const bool inFile = !description.file.empty();
    const auto message = request.where + unknownCommandMessage(request.plugin, catalog, inFile ? "plugin" : "command");
    if (description.refusal == ErrorKind::usage) throw UsageError(message);
    throw Error(description.refusal, message);
  }
  try {
    return loaded.emplace(request.plugin, loadPlugin(info->file(), info->note())).first->second;
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("{}plugin {}: {}", request.where, info->path, e.what()));
  }
}

// Calls plugin code for request (callPlugin), naming where the service was asked for in the errors.
template <typename Fn>
auto callFor(const DeploymentDescription& description, const ServiceRequest& request, const LoadedPlugin& plugin,
             const char* what, Fn&& fn) -> decltype(fn()) {
  try {
    return callPlugin(plugin.tapname, what, description.refusal, std::forward<Fn>(fn));
  } catch (const Error& e) {
    if (request.where.empty()) throw;
    throw Error(e.kind(), request.where + e.what());
  }
}

// The note was made from this code at build time; options that differ mean the file was changed since, and
// what --help showed and the command line was checked against is not what the plugin will read.
void refuseNoteMismatch(const ServiceRequest& request,
                        const LoadedPlugin& plugin, const std::vector<OptionSpec>& specs) {
  const auto same = [](const OptionSpec& a, const OptionSpec& b) {
    return a.longName == b.longName && a.shortName == b.shortName && a.help == b.help &&
           a.defaultValue == b.defaultValue && a.kind == b.kind && a.required == b.required;
  };
  if (std::equal(specs.begin(), specs.end(), plugin.noteOptions.begin(), plugin.noteOptions.end(), same)) return;
  throw Error(ErrorKind::data, fmt::format("{}plugin {}: its options differ from those its metadata note declares "
                                           "(rebuild it with cppd_add_plugin)", request.where, plugin.path));
}

// The service request asks for, named in a deployment file.
std::shared_ptr<IService> makeService(const DeploymentDescription& description, const ServiceRequest& request,
                                      const LoadedPlugin& plugin) {
  auto specs = callFor(description, request, plugin, "options()", [&] { return plugin.maker->options(); });
  refuseNoteMismatch(request, plugin, specs);
  const Options options = request.readOptions(plugin, specs);
  auto service =
      callFor(description, request, plugin, "makeService", [&] { return plugin.maker->makeService(options); });
  if (!service) {
    throw Error(ErrorKind::software,
                fmt::format("{}plugin {}: makeService returned no service", request.where, plugin.tapname));
  }
  if (description.file.empty()) return service;
  return std::make_shared<NamedService>(request.name, std::move(service));
}

}  // namespace

void Deployment::release() {
  app.reset();
  plugins.clear();
}

Deployment buildDeployment(const DeploymentDescription& description, PluginCatalog catalog) {
  Deployment deployment;
  const bool inFile = !description.file.empty();
  std::map<std::string, LoadedPlugin> loaded;  // before app: on an error the services go first
  auto app = std::make_shared<Application>(inFile ? "cppd" : description.services.at(0).plugin);
  std::string parts;
  for (const auto& request : description.services) {
    const LoadedPlugin& plugin = pluginFor(description, request, catalog, loaded);
    auto service = makeService(description, request, plugin);
    service->setServiceParent(*app);  // names are unique: readDeploymentFile checked them
    if (request.firstWorkerOnly) deployment.firstWorkerOnly.push_back(request.name);
    parts += (parts.empty() ? "" : ", ") + (inFile ? fmt::format("{} as '{}'", plugin.tapname, request.name)
                                                   : fmt::format("{} ({})", plugin.tapname, plugin.path));
    if (callFor(description, request, plugin, "servesFiles()", [&] { return plugin.maker->servesFiles(); })) {
      deployment.fileServers.push_back(inFile ? fmt::format("{} (service '{}')", plugin.tapname, request.name)
                                              : plugin.tapname);
    }
  }
  deployment.app = std::move(app);
  for (auto& entry : loaded) deployment.plugins.push_back(std::move(entry.second));
  deployment.summary = inFile ? parts + " (from " + description.file + ")" : parts;
  return deployment;
}

}  // namespace cppd::runner
