#include "reload_load_report.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace reload_load {
namespace {

constexpr std::size_t kKinds = 3, kOutcomes = 7;
constexpr std::array<const char*, kKinds> kKindNames{"keep-alive", "one-shot", "poetry"};
constexpr std::array<const char*, kOutcomes> kOutcomeNames{"ok", "connect", "read", "write", "timeout", "non-2xx",
                                                            "short-poem"};
constexpr std::uint32_t kBucketMs = 100;
constexpr std::size_t kMaxTimelineLines = 300;  // a run that fails everywhere still prints a readable report

std::size_t index(Kind kind) { return static_cast<std::size_t>(kind); }
std::size_t index(Outcome outcome) { return static_cast<std::size_t>(outcome); }

struct Totals {
  std::array<long, kOutcomes> outcomes{};
  std::vector<std::uint32_t> okLatencies;
  long requests() const {
    long sum = 0;
    for (long n : outcomes) sum += n;
    return sum;
  }
  long failures() const { return requests() - outcomes[0]; }
};

std::uint32_t percentile(std::vector<std::uint32_t>& values, double fraction) {
  if (values.empty()) return 0;
  const auto at = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1) + 0.5);
  std::nth_element(values.begin(), values.begin() + static_cast<long>(at), values.end());
  return values[at];
}

// The bucket a request belongs to: where its failure happened (a timeout: where the request was sent, not where
// its deadline fell) or where it completed.
std::size_t bucketOf(const Record& r) {
  const std::uint32_t at = r.outcome == Outcome::timeout ? r.startMs : r.startMs + r.latencyUs / 1000;
  return at / kBucketMs;
}

void printTotals(std::array<Totals, kKinds + 1>& totals) {
  fmt::print("\n{:<11}{:>10}{:>10}{:>9}{:>7}{:>7}{:>9}{:>9}{:>12}{:>10}{:>10}{:>10}\n", "kind", "requests", "ok",
             "connect", "read", "write", "timeout", "non-2xx", "short-poem", "p50_us", "p99_us", "max_us");
  for (std::size_t k = 0; k <= kKinds; ++k) {
    Totals& t = totals[k];
    if (t.requests() == 0) continue;
    const auto& o = t.outcomes;
    const auto max = t.okLatencies.empty() ? 0 : *std::max_element(t.okLatencies.begin(), t.okLatencies.end());
    fmt::print("{:<11}{:>10}{:>10}{:>9}{:>7}{:>7}{:>9}{:>9}{:>12}{:>10}{:>10}{:>10}\n",
               k < kKinds ? kKindNames[k] : "all", t.requests(), o[0], o[1], o[2], o[3], o[4], o[5], o[6],
               percentile(t.okLatencies, 0.5), percentile(t.okLatencies, 0.99), max);
  }
}

void printErrors(const ErrorDetails& details) {
  if (details.empty()) return;
  fmt::print("\nfailures by cause:\n");
  for (const auto& [key, count] : details) {
    const auto& [kind, outcome, cause] = key;
    fmt::print("  {:<11}{:<11}{:>8}  {}\n", kKindNames[index(kind)], kOutcomeNames[index(outcome)], count, cause);
  }
}

struct Bucket {
  std::array<long, kKinds> completed{};
  std::array<std::array<long, kOutcomes>, kKinds> failed{};
};

struct BucketSummary {
  long failures = 0;
  bool stalled = false;  // a kind of client that ran completed nothing in it
  std::string text;
};

BucketSummary summarize(const Bucket& b, const std::array<bool, kKinds>& active) {
  BucketSummary s;
  std::string failedText, stalledText;
  for (std::size_t k = 0; k < kKinds; ++k) {
    for (std::size_t o = 1; o < kOutcomes; ++o) {
      if (b.failed[k][o] == 0) continue;
      s.failures += b.failed[k][o];
      failedText += fmt::format("{}{} {} {}", failedText.empty() ? "" : ", ", kKindNames[k], kOutcomeNames[o],
                                b.failed[k][o]);
    }
    if (active[k] && b.completed[k] == 0)
      stalledText += fmt::format("{}{}", stalledText.empty() ? "" : ", ", kKindNames[k]);
  }
  s.stalled = !stalledText.empty();
  s.text = fmt::format("ok {}/{}/{}", b.completed[0], b.completed[1], b.completed[2]);
  if (s.failures > 0) s.text += fmt::format("  failed {}: {}", s.failures, failedText);
  if (s.stalled) s.text += fmt::format("  nothing completed: {}", stalledText);
  return s;
}

void printTimeline(const std::deque<Record>& records, double seconds) {
  const auto span = static_cast<std::size_t>(seconds * 1000 / kBucketMs + 0.5);
  std::vector<Bucket> buckets(span);
  std::array<bool, kKinds> active{};
  for (const Record& r : records) {
    active[index(r.kind)] = true;
    const std::size_t at = bucketOf(r);
    if (at >= buckets.size()) buckets.resize(at + 1);  // the requests that finished after the run's end
    if (r.outcome == Outcome::ok) ++buckets[at].completed[index(r.kind)];
    else ++buckets[at].failed[index(r.kind)][index(r.outcome)];
  }
  fmt::print("\ntimeline: 100 ms buckets from the start; only those with a failure, or where a kind of client "
             "completed nothing (ok = keep-alive/one-shot/poetry requests completed)\n");
  std::size_t withFailures = 0, stalls = 0, printed = 0;
  long first = -1, last = -1;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const BucketSummary s = summarize(buckets[i], active);
    // The run's last bucket and those after it are partial (the load stopped in them): a stall there is no gap.
    const bool stalled = s.stalled && i + 1 < span;
    if (s.failures > 0) {
      ++withFailures;
      if (first < 0) first = static_cast<long>(i);
      last = static_cast<long>(i);
    }
    stalls += stalled ? 1 : 0;
    if (s.failures == 0 && !stalled) continue;
    if (++printed <= kMaxTimelineLines) fmt::print("  +{:7.1f} s  {}\n", static_cast<double>(i) / 10, s.text);
  }
  if (printed > kMaxTimelineLines) fmt::print("  ... {} more lines\n", printed - kMaxTimelineLines);
  fmt::print("timeline summary: {} buckets over {:.1f} s; {} with failures", span, seconds, withFailures);
  if (first >= 0) fmt::print(" (first at +{:.1f} s, last at +{:.1f} s)", first / 10.0, last / 10.0);
  fmt::print("; {} where a kind of client completed nothing\n", stalls);
}

void printResults(std::array<Totals, kKinds + 1>& totals) {
  for (std::size_t k = 0; k <= kKinds; ++k) {
    Totals& t = totals[k];
    if (t.requests() == 0) continue;
    std::string line = fmt::format("result kind={} requests={}", k < kKinds ? kKindNames[k] : "all", t.requests());
    for (std::size_t o = 0; o < kOutcomes; ++o) line += fmt::format(" {}={}", kOutcomeNames[o], t.outcomes[o]);
    const auto max = t.okLatencies.empty() ? 0 : *std::max_element(t.okLatencies.begin(), t.okLatencies.end());
    line += fmt::format(" p50_us={} p99_us={} max_us={}", percentile(t.okLatencies, 0.5),
                        percentile(t.okLatencies, 0.99), max);
    fmt::print("{}\n", line);
  }
}

}  // namespace

bool report(const std::deque<Record>& records, const ErrorDetails& details, double seconds) {
  std::array<Totals, kKinds + 1> totals;
  for (const Record& r : records) {
    for (Totals* t : {&totals[index(r.kind)], &totals[kKinds]}) {
      ++t->outcomes[index(r.outcome)];
      if (r.outcome == Outcome::ok) t->okLatencies.push_back(r.latencyUs);
    }
  }
  printTotals(totals);
  printErrors(details);
  printTimeline(records, seconds);
  fmt::print("\n");
  printResults(totals);
  return totals[kKinds].failures() > 0;
}

void writeRecords(const std::string& path, const std::deque<Record>& records) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error(fmt::format("open records file {}: {}", path, std::strerror(errno)));
  out << "start_ms,latency_us,kind,outcome\n";
  for (const Record& r : records)
    out << r.startMs << ',' << r.latencyUs << ',' << kKindNames[index(r.kind)] << ','
        << kOutcomeNames[index(r.outcome)] << '\n';
  if (!out.flush()) throw std::runtime_error(fmt::format("write records file {}: {}", path, std::strerror(errno)));
}

}  // namespace reload_load
