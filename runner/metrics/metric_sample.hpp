#pragma once

// One series of a scrape, as the daemon reports it and the exposition writes it: the seam between where the
// numbers live (the SDK's shared counters, the supervisor's facts) and how they are served (GET /metrics).

#include <string>
#include <utility>
#include <vector>

namespace cppd::runner {

struct MetricSample {
  enum class Type { counter, gauge };

  std::string name;  // a valid Prometheus metric name: "cppd_connections_accepted_total"
  std::string help;  // one line; the exposition escapes it
  Type type = Type::gauge;
  std::vector<std::pair<std::string, std::string>> labels;  // names valid; values any bytes (escaped on output)
  double value = 0;
};

/// What a metrics endpoint asks of the daemon it runs in. Loop thread only; neither call throws.
class IMetricsSource {
 public:
  virtual ~IMetricsSource() = default;
  /// Every series, summed over the live workers and those that have exited (counters never go down).
  /// Samples of one name are adjacent and share help and type.
  virtual std::vector<MetricSample> metrics() const = 0;
  /// True while serving; false from the moment a stop or drain begins.
  virtual bool ready() const = 0;
};

}  // namespace cppd::runner
