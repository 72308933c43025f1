#include "control/single_process_daemon.hpp"

#include <unistd.h>

#include <exception>

#include <fmt/core.h>

#include <cppd/address.hpp>
#include <cppd/error.hpp>
#include <cppd/service_collection.hpp>
#include <cppd/stream_server_service.hpp>
#include <cppd/version.hpp>

namespace cppd::runner {
namespace {

constexpr const char* kOneProcess =
    "this daemon runs in one process, without workers (start it with --workers N to run workers)";

// "127.0.0.1:8000", "[::1]:8000", "/run/x.sock": what an operator types, not the log's Twisted-style repr.
std::string shown(const Address& address) {
  switch (address.family()) {
    case AddressFamily::ipv4: return fmt::format("{}:{}", address.host(), address.port());
    case AddressFamily::ipv6: return fmt::format("[{}]:{}", address.host(), address.port());
    case AddressFamily::unixSocket: break;
  }
  return address.path();
}

double secondsSinceEpoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// Every listening service under service (itself included), depth first.
void collectPorts(IService& service, std::vector<const StreamServerService*>& out) {
  if (const auto* port = dynamic_cast<const StreamServerService*>(&service)) out.push_back(port);
  if (auto* collection = dynamic_cast<IServiceCollection*>(&service)) {
    for (const auto& child : collection->services()) collectPorts(*child, out);
  }
}

// A deployment's top-level services: the application's children, named as the deployment named them.
struct TopService {
  std::string name;
  std::vector<const StreamServerService*> ports;
};

std::vector<TopService> topServices(Application& app) {
  std::vector<TopService> out;
  for (const auto& child : app.services()) {
    TopService top;
    top.name = child->name().empty() ? app.name() : child->name();
    collectPorts(*child, top.ports);
    out.push_back(std::move(top));
  }
  return out;
}

}  // namespace

SingleProcessDaemon::SingleProcessDaemon(std::shared_ptr<Application> app, DaemonFacts facts,
                                         std::vector<PluginFacts> plugins, Actions actions)
    : app_(std::move(app)),
      facts_(std::move(facts)),
      plugins_(std::move(plugins)),
      actions_(std::move(actions)),
      started_(std::chrono::steady_clock::now()) {
  facts_.version = versionString();
  facts_.startTime = secondsSinceEpoch(std::chrono::system_clock::now());
}

DaemonFacts SingleProcessDaemon::status() const {
  DaemonFacts facts = facts_;
  facts.uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  if (actions_.workers) facts.workers = actions_.workers();
  return facts;
}

std::vector<ServiceFacts> SingleProcessDaemon::services() const {
  std::vector<ServiceFacts> out;
  for (const auto& top : topServices(*app_)) {
    ServiceFacts facts;
    facts.name = top.name;
    if (plugins_.size() == 1) facts.plugin = plugins_.front().name;  // several: which made what is not recorded
    std::uint64_t active = 0;
    for (const auto* port : top.ports) {
      facts.endpoints.push_back(port->endpoint().toString());
      active += port->connectionCount();
    }
    if (!actions_.workers) facts.active = active;  // under a supervisor the connections are the workers'
    out.push_back(std::move(facts));
  }
  return out;
}

std::vector<ListenerFacts> SingleProcessDaemon::listeners() const {
  std::vector<ListenerFacts> out;
  for (const auto& top : topServices(*app_)) {
    for (const auto* port : top.ports) {
      ListenerFacts facts;
      facts.service = top.name;
      facts.endpoint = port->endpoint().toString();
      if (const auto bound = port->boundAddress()) facts.address = shown(*bound);
      if (!actions_.workers) facts.connections = port->connectionCount();
      out.push_back(std::move(facts));
    }
  }
  return out;
}

void SingleProcessDaemon::stop() {
  if (actions_.stop) actions_.stop();
}

void SingleProcessDaemon::reopen() {
  if (actions_.reopen) actions_.reopen();
}

unsigned SingleProcessDaemon::changeWorkers(int delta) {
  if (!actions_.changeWorkers) throw Error(ErrorKind::usage, kOneProcess);
  return actions_.changeWorkers(delta);
}

pid_t SingleProcessDaemon::replaceWorker(unsigned id) {
  if (!actions_.replaceWorker) throw Error(ErrorKind::usage, kOneProcess);
  return actions_.replaceWorker(id);
}

std::vector<PluginFacts> describePlugins(const std::vector<LoadedPlugin>& plugins) {
  std::vector<PluginFacts> out;
  for (const auto& plugin : plugins) {
    PluginFacts facts;
    facts.name = plugin.tapname;
    facts.file = plugin.path;
    facts.description = plugin.description;
    facts.version = plugin.version;
    facts.abi = std::to_string(sdkAbiVersion());  // a plugin of another ABI would not have loaded
    out.push_back(std::move(facts));
  }
  return out;
}

}  // namespace cppd::runner
