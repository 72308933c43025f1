#include "metrics/facts_metrics.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace cppd::runner {
namespace {

using Type = MetricSample::Type;

void addPerService(std::vector<MetricSample>& out, const std::vector<ServiceFacts>& services, const char* name,
                   const char* help, Type type, std::optional<std::uint64_t> ServiceFacts::*field) {
  for (const ServiceFacts& service : services) {
    const auto& value = service.*field;
    if (!value) continue;  // not counted where this run keeps it (the workers' connections, say)
    out.push_back({name, help, type, {{"service", service.name}}, static_cast<double>(*value)});
  }
}

}  // namespace

std::vector<MetricSample> FactsMetrics::metrics() const {
  const DaemonFacts facts = daemon_.status();
  const std::vector<ServiceFacts> services = daemon_.services();
  std::vector<MetricSample> out;
  out.reserve(4 + 3 * services.size());
  out.push_back({"cppd_build_info", "The cppd version serving, as a label", Type::gauge,
                 {{"version", facts.version}}, 1});
  out.push_back({"cppd_start_time_seconds", "When the daemon started, in seconds since the epoch", Type::gauge, {},
                 facts.startTime});
  out.push_back({"cppd_workers", "Worker processes serving (0: the single-process model)", Type::gauge, {},
                 static_cast<double>(facts.workers.size())});
  std::uint64_t restarts = 0;
  for (const WorkerFacts& worker : facts.workers) restarts += worker.restarts;
  out.push_back({"cppd_worker_restarts_total", "Workers replaced after they died or were recycled", Type::counter,
                 {}, static_cast<double>(restarts)});
  addPerService(out, services, "cppd_connections_accepted_total", "Connections a service accepted", Type::counter,
                &ServiceFacts::accepted);
  addPerService(out, services, "cppd_connections_active", "Connections a service has open", Type::gauge,
                &ServiceFacts::active);
  addPerService(out, services, "cppd_bytes_sent_total", "Bytes a service sent", Type::counter,
                &ServiceFacts::bytesSent);
  return out;
}

}  // namespace cppd::runner
