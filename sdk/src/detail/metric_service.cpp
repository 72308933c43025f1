#include "detail/metric_service.hpp"

#include <fmt/core.h>

#include "detail/reactor_impl.hpp"

namespace cppd::detail {

ServiceMetrics ServiceMetrics::forService(std::string_view serviceContext) noexcept {
  ServiceMetrics metrics;
  runGuarded("register the service's metrics", [&] {
    std::string_view name = serviceContext.empty() ? std::string_view(serviceLabel()) : serviceContext;
    if (name.empty()) name = "-";
    const MetricLabels labels{{"service", std::string(name.substr(0, kMetricLabelValueMax))}};
    metrics.accepted = builtinCounter("cppd_connections_accepted_total", "Connections accepted.", labels);
    metrics.active = builtinGauge("cppd_connections_active", "Connections open now.", labels);
    metrics.bytesSent = builtinCounter("cppd_bytes_sent_total", "Bytes written to the service's connections.", labels);
    metrics.errors = builtinCounter("cppd_connection_errors_total", "Connections that ended with an error.", labels);
  });
  return metrics;
}

}  // namespace cppd::detail
