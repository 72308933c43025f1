#include "control/single_process_daemon.hpp"

#include <unistd.h>

#include <algorithm>
#include <exception>
#include <map>

#include <fmt/core.h>

#include <cppd/address.hpp>
#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <cppd/metrics.hpp>
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

// What the SDK counted for one service (label service = its name), over every process of the run.
struct ServiceCounts {
  std::uint64_t accepted = 0;
  std::int64_t active = 0;
  std::uint64_t bytesSent = 0;
  std::uint64_t errors = 0;
};

std::map<std::string, ServiceCounts> countsByService(const std::vector<detail::MetricReading>& readings) {
  std::map<std::string, ServiceCounts> out;
  for (const auto& reading : readings) {
    if (!reading.name.starts_with("cppd_")) continue;
    const auto label = std::find_if(reading.labels.begin(), reading.labels.end(),
                                    [](const auto& pair) { return pair.first == "service"; });
    if (label == reading.labels.end()) continue;
    ServiceCounts& counts = out[label->second];
    if (reading.name == "cppd_connections_accepted_total") counts.accepted = reading.count;
    else if (reading.name == "cppd_connections_active") counts.active = reading.gauge;
    else if (reading.name == "cppd_bytes_sent_total") counts.bytesSent = reading.count;
    else if (reading.name == "cppd_connection_errors_total") counts.errors = reading.count;
  }
  return out;
}

MetricSample sample(std::string name, std::string help, MetricSample::Type type, double value) {
  MetricSample out;
  out.name = std::move(name);
  out.help = std::move(help);
  out.type = type;
  out.value = value;
  return out;
}

}  // namespace

SingleProcessDaemon::SingleProcessDaemon(std::shared_ptr<Application> app, DaemonFacts facts,
                                         std::vector<PluginFacts> plugins, Actions actions, std::int64_t startedNs)
    : app_(std::move(app)),
      facts_(std::move(facts)),
      plugins_(std::move(plugins)),
      actions_(std::move(actions)),
      started_(startedNs != 0 ? std::chrono::steady_clock::time_point(std::chrono::nanoseconds(startedNs))
                              : std::chrono::steady_clock::now()) {
  facts_.version = versionString();
  if (facts_.startTime == 0) facts_.startTime = secondsSinceEpoch(std::chrono::system_clock::now());
  // Registered here too, so that a run whose log never failed shows it at 0 rather than not at all.
  detail::builtinCounter("cppd_log_lines_lost_total", "Log lines that could not be written.");
}

DaemonFacts SingleProcessDaemon::status() const {
  DaemonFacts facts = facts_;
  facts.uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  if (actions_.workers) facts.workers = actions_.workers();
  if (actions_.reloadFacts) actions_.reloadFacts(facts);
  return facts;
}

std::vector<ServiceFacts> SingleProcessDaemon::services() const {
  std::map<std::string, ServiceCounts> counts = countsByService(detail::readMetrics());
  std::vector<ServiceFacts> out;
  for (const auto& top : topServices(*app_)) {
    ServiceFacts facts;
    facts.name = top.name;
    if (plugins_.size() == 1) facts.plugin = plugins_.front().name;  // several: which made what is not recorded
    for (const auto* port : top.ports) facts.endpoints.push_back(port->endpoint().toString());
    const ServiceCounts& numbers = counts[top.name];
    facts.accepted = numbers.accepted;
    facts.active = static_cast<std::uint64_t>(std::max<std::int64_t>(numbers.active, 0));
    facts.bytesSent = numbers.bytesSent;
    facts.errors = numbers.errors;
    out.push_back(std::move(facts));
  }
  return out;
}

std::vector<ListenerFacts> SingleProcessDaemon::listeners() const {
  std::map<std::string, ServiceCounts> counts;
  if (actions_.workers) counts = countsByService(detail::readMetrics());
  std::vector<ListenerFacts> out;
  for (const auto& top : topServices(*app_)) {
    for (const auto* port : top.ports) {
      ListenerFacts facts;
      facts.service = top.name;
      facts.endpoint = port->endpoint().toString();
      if (const auto bound = port->boundAddress()) facts.address = shown(*bound);
      // The workers count per service: a service's only listener has all its connections; of several, which
      // has how many is not recorded.
      if (!actions_.workers) facts.connections = port->connectionCount();
      else if (top.ports.size() == 1) facts.connections = std::max<std::int64_t>(counts[top.name].active, 0);
      out.push_back(std::move(facts));
    }
  }
  return out;
}

std::vector<MetricSample> SingleProcessDaemon::metrics() const {
  std::vector<MetricSample> out;
  try {
    for (auto& reading : detail::readMetrics()) {
      MetricSample s = sample(std::move(reading.name), std::move(reading.help),
                              reading.counter ? MetricSample::Type::counter : MetricSample::Type::gauge,
                              reading.counter ? static_cast<double>(reading.count) : static_cast<double>(reading.gauge));
      s.labels = std::move(reading.labels);
      out.push_back(std::move(s));
    }
    using Type = MetricSample::Type;
    MetricSample build = sample("cppd_build_info", "The version of cppd that runs, as a label.", Type::gauge, 1);
    build.labels.emplace_back("version", facts_.version);
    out.push_back(std::move(build));
    out.push_back(sample("cppd_start_time_seconds", "When the daemon started, in seconds since the epoch.",
                         Type::gauge, facts_.startTime));
    DaemonFacts reloads;
    if (actions_.reloadFacts) actions_.reloadFacts(reloads);
    out.push_back(sample("cppd_reloads_total", "Reloads of the configuration that succeeded.", Type::counter,
                         static_cast<double>(reloads.reloads)));
    out.push_back(sample("cppd_reload_failures_total", "Reloads that failed (the serving generation stayed).",
                         Type::counter, static_cast<double>(reloads.failedReloads)));
    out.push_back(sample("cppd_generation", "The generation of the workers serving (1 + reloads).", Type::gauge,
                         static_cast<double>(reloads.generation)));
    // A single process is its one serving process: 1 worker, never restarted, so a dashboard that sums or
    // alerts on these works for both models.
    out.push_back(sample("cppd_workers", "Processes serving now: the live workers, or 1 for a single process.",
                         Type::gauge, static_cast<double>(liveWorkers())));
    out.push_back(sample("cppd_worker_restarts_total", "Workers started again after one died.", Type::counter,
                         static_cast<double>(actions_.restarts ? actions_.restarts() : 0)));
  } catch (const std::exception& e) {
    log::error("collect metrics: {}", e.what());  // a partial scrape: what was collected so far
  }
  return out;
}

std::size_t SingleProcessDaemon::liveWorkers() const {
  if (!actions_.workers) return 1;
  const auto workers = actions_.workers();
  return static_cast<std::size_t>(
      std::count_if(workers.begin(), workers.end(), [](const WorkerFacts& w) { return w.pid > 0; }));
}

bool SingleProcessDaemon::ready() const { return !actions_.ready || actions_.ready(); }

void SingleProcessDaemon::stop() {
  if (actions_.stop) actions_.stop();
}

void SingleProcessDaemon::reopen() {
  if (actions_.reopen) actions_.reopen();
}

std::string SingleProcessDaemon::reload(bool checkOnly) {
  if (!actions_.reload) {
    throw Error(ErrorKind::usage, "this daemon runs in one process: a reload needs --workers N (a supervisor keeps "
                                  "the listening sockets while a new generation of workers starts); restart it "
                                  "instead");
  }
  return actions_.reload(checkOnly);
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
