#pragma once

// The metrics a daemon can give from what its control socket already knows (DaemonFacts, ServiceFacts): the
// build, the start time, the workers and the per-service connection counts the run keeps. The SDK's shared
// counters add the rest where they exist.

#include <functional>
#include <vector>

#include "control/controlled_daemon.hpp"
#include "metrics/metric_sample.hpp"

namespace cppd::runner {

class FactsMetrics : public IMetricsSource {
 public:
  /// daemon outlives this; ready answers ready() (true while serving).
  FactsMetrics(const IControlledDaemon& daemon, std::function<bool()> ready)
      : daemon_(daemon), ready_(std::move(ready)) {}

  std::vector<MetricSample> metrics() const override;
  bool ready() const override { return ready_ && ready_(); }

 private:
  const IControlledDaemon& daemon_;
  std::function<bool()> ready_;
};

}  // namespace cppd::runner
