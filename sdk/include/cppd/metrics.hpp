#pragma once

// Counters and gauges a plugin keeps for the operator (requests by status class, logins, bytes), without knowing
// how they are served: the runner collects them (from every worker of a multi-process run) and exposes them, for
// instance as Prometheus metrics. The SDK keeps its own series for every stream server service (connections
// accepted and active, bytes sent, connection errors) under the reserved `cppd_` prefix.
//
// Counting is cheap on purpose: a handle names a cell of memory (shared with the supervisor under --workers) and
// add/set/sub are one relaxed atomic operation on it, with no system call and no lock. Registering is not: do it
// once (in makeService, a factory's constructor or startService) and keep the handle.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cppd/export.hpp>

namespace cppd {

/// Label name = value pairs that tell the series of one metric apart: {{"code", "2xx"}}.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

/// Limits of a registration (each broken rule throws cppd::Error naming the metric and the rule).
inline constexpr std::size_t kMetricNameMax = 100;  // bytes; [a-zA-Z_:][a-zA-Z0-9_:]*, counters end in _total
inline constexpr std::size_t kMetricHelpMax = 200;  // bytes, one line
inline constexpr std::size_t kMetricLabelsMax = 4;  // label names [a-zA-Z_][a-zA-Z0-9_]*, not starting with __
inline constexpr std::size_t kMetricLabelNameMax = 64;
inline constexpr std::size_t kMetricLabelValueMax = 128;  // bytes, any bytes (the exposition escapes them)
inline constexpr std::size_t kMetricSeriesMax = 256;      // series per process, the SDK's own included

/// A value that only goes up: requests served, bytes sent. Cheap to copy; copies count into the same cell.
/// A default-constructed Counter is a sink that counts nothing. add() may be called from any thread.
class CPPD_API Counter {
 public:
  Counter() noexcept = default;
  /// Adds n (one relaxed atomic add; no system call, no lock).
  void add(std::uint64_t n = 1) const noexcept;
  /// What this process has counted (not the other workers').
  std::uint64_t value() const noexcept;

 private:
  friend Counter counter(std::string_view, std::string_view, const MetricLabels&);
  friend struct CounterAccess;
  explicit Counter(std::uint32_t cell) noexcept : cell_(cell) {}
  std::uint32_t cell_ = UINT32_MAX;
};

/// A value that goes up and down: open connections, queue length. Cheap to copy; copies share the cell. Under
/// --workers each worker has its own, the collected value is their sum, and a worker that exits takes its part
/// with it. A default-constructed Gauge is a sink. set/add/sub may be called from any thread.
class CPPD_API Gauge {
 public:
  Gauge() noexcept = default;
  void set(std::int64_t value) const noexcept;
  void add(std::int64_t n = 1) const noexcept;
  void sub(std::int64_t n = 1) const noexcept;
  /// This process's value.
  std::int64_t value() const noexcept;

 private:
  friend Gauge gauge(std::string_view, std::string_view, const MetricLabels&);
  friend struct GaugeAccess;
  explicit Gauge(std::uint32_t cell) noexcept : cell_(cell) {}
  std::uint32_t cell_ = UINT32_MAX;
};

/// Registers (or finds) the counter series name{labels}. Registering the same name and labels again returns the
/// same cell, whatever the order of the labels; the same name with another type or help text throws. Also
/// throws cppd::Error (ErrorKind::software) when a rule above is broken, when the name starts with the reserved
/// `cppd_`, and when the process already has kMetricSeriesMax series. Loop thread only.
CPPD_API Counter counter(std::string_view name, std::string_view help, const MetricLabels& labels = {});
/// As counter(), for a gauge (whose name need not end in _total).
CPPD_API Gauge gauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});

namespace detail {

/// One series as collected: the value summed over this process, every live worker and (for counters) every
/// worker that has exited.
struct MetricReading {
  bool counter = true;
  std::string name;
  std::string help;
  MetricLabels labels;  // sorted by name
  std::int64_t gauge = 0;
  std::uint64_t count = 0;
};

/// For the SDK and the runner: counter()/gauge() allowing the reserved `cppd_` prefix.
CPPD_API Counter builtinCounter(std::string_view name, std::string_view help, const MetricLabels& labels = {});
CPPD_API Gauge builtinGauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});

/// For the runner: the value of the `service` label of the SDK's connection series for ports opened outside a
/// named service's log context (a single plugin's run: the application's name).
CPPD_API void setDefaultServiceLabel(std::string name);

/// For the runner: every series, as the supervisor (or the single process) sees them. Loop thread only.
CPPD_API std::vector<MetricReading> readMetrics();
/// For the supervisor: the series of the worker that runs on board slot (empty when it has none).
CPPD_API std::vector<MetricReading> readWorkerMetrics(std::size_t slot);
/// For the supervisor, once the worker of slot has been reaped: keeps its counters (gauges go) and clears the
/// slot's memory for the next worker.
CPPD_API void foldWorkerMetrics(std::size_t slot) noexcept;
/// For the runner, in a worker just after fork: count into the memory of board slot from now on.
CPPD_API void useWorkerMetrics(std::size_t slot) noexcept;

}  // namespace detail
}  // namespace cppd
