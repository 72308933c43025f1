#include <cppd/metrics.hpp>

#include <algorithm>
#include <string>

#include <fmt/core.h>

#include <cppd/error.hpp>

#include "detail/metric_arena.hpp"

namespace cppd {
namespace {

bool nameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool nameChar(char c) { return nameStart(c) || (c >= '0' && c <= '9'); }

[[noreturn]] void refuse(std::string_view name, const std::string& rule) {
  throw Error(ErrorKind::software, fmt::format("metric {:?}: {}", std::string(name), rule));
}

void checkName(std::string_view name, bool counter, bool builtin) {
  if (name.empty() || name.size() > kMetricNameMax) {
    refuse(name, fmt::format("a metric name has 1 to {} bytes", kMetricNameMax));
  }
  const auto metricChar = [](char c) { return nameChar(c) || c == ':'; };
  if (!(nameStart(name[0]) || name[0] == ':') || !std::all_of(name.begin(), name.end(), metricChar)) {
    refuse(name, "a metric name is [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  if (counter && !name.ends_with("_total")) refuse(name, "a counter's name ends in _total");
  if (!builtin && name.starts_with("cppd_")) refuse(name, "the prefix cppd_ is reserved for the SDK and the runner");
}

void checkLabels(std::string_view name, const MetricLabels& labels) {
  if (labels.size() > kMetricLabelsMax) {
    refuse(name, fmt::format("{} labels; a series has at most {}", labels.size(), kMetricLabelsMax));
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto& [label, value] = labels[i];
    if (label.empty() || label.size() > kMetricLabelNameMax || !nameStart(label[0]) ||
        !std::all_of(label.begin(), label.end(), nameChar)) {
      refuse(name, fmt::format("label name {:?} is not [a-zA-Z_][a-zA-Z0-9_]* of at most {} bytes", label,
                               kMetricLabelNameMax));
    }
    if (label.starts_with("__")) refuse(name, fmt::format("label name {:?} starts with the reserved __", label));
    if (value.size() > kMetricLabelValueMax) {
      refuse(name, fmt::format("the value of label {} has {} bytes; at most {}", label, value.size(),
                               kMetricLabelValueMax));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (labels[j].first == label) refuse(name, fmt::format("label {} is given twice", label));
    }
  }
}

std::uint32_t registerSeries(bool counter, bool builtin, std::string_view name, std::string_view help,
                             const MetricLabels& labels) {
  checkName(name, counter, builtin);
  if (help.size() > kMetricHelpMax) refuse(name, fmt::format("the help text has more than {} bytes", kMetricHelpMax));
  if (help.find('\n') != std::string_view::npos) refuse(name, "the help text is one line");
  checkLabels(name, labels);
  MetricLabels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  return detail::MetricArena::instance().cell(counter, name, help, sorted);
}

}  // namespace

struct CounterAccess {
  static Counter make(std::uint32_t cell) noexcept { return Counter(cell); }
};
struct GaugeAccess {
  static Gauge make(std::uint32_t cell) noexcept { return Gauge(cell); }
};

void Counter::add(std::uint64_t n) const noexcept {
  if (cell_ != UINT32_MAX) detail::metricValues[cell_].fetch_add(n, std::memory_order_relaxed);
}

std::uint64_t Counter::value() const noexcept {
  return cell_ == UINT32_MAX ? 0 : detail::metricValues[cell_].load(std::memory_order_relaxed);
}

void Gauge::set(std::int64_t value) const noexcept {
  if (cell_ != UINT32_MAX) detail::metricValues[cell_].store(static_cast<std::uint64_t>(value), std::memory_order_relaxed);
}

void Gauge::add(std::int64_t n) const noexcept {
  if (cell_ != UINT32_MAX) detail::metricValues[cell_].fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
}

void Gauge::sub(std::int64_t n) const noexcept {
  if (cell_ != UINT32_MAX) detail::metricValues[cell_].fetch_sub(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
}

std::int64_t Gauge::value() const noexcept {
  return cell_ == UINT32_MAX ? 0 : static_cast<std::int64_t>(detail::metricValues[cell_].load(std::memory_order_relaxed));
}

Counter counter(std::string_view name, std::string_view help, const MetricLabels& labels) {
  return Counter(registerSeries(true, false, name, help, labels));
}

Gauge gauge(std::string_view name, std::string_view help, const MetricLabels& labels) {
  return Gauge(registerSeries(false, false, name, help, labels));
}

namespace detail {
namespace {
std::string defaultServiceLabel;
}

Counter builtinCounter(std::string_view name, std::string_view help, const MetricLabels& labels) {
  return CounterAccess::make(registerSeries(true, true, name, help, labels));
}

Gauge builtinGauge(std::string_view name, std::string_view help, const MetricLabels& labels) {
  return GaugeAccess::make(registerSeries(false, true, name, help, labels));
}

void setDefaultServiceLabel(std::string name) { defaultServiceLabel = std::move(name); }

const std::string& serviceLabel() noexcept { return defaultServiceLabel; }

std::vector<MetricReading> readMetrics() { return MetricArena::instance().read(); }

std::vector<MetricReading> readWorkerMetrics(std::size_t slot) { return MetricArena::instance().readSlot(slot); }

void foldWorkerMetrics(std::size_t slot) noexcept { MetricArena::instance().fold(slot); }

void useWorkerMetrics(std::size_t slot) noexcept { MetricArena::instance().use(slot); }

}  // namespace detail
}  // namespace cppd
