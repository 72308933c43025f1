// What counting costs: CPU time per Counter::add and Gauge::add against a plain relaxed atomic add in the same run
// (the floor), and what one collection (readMetrics) costs with the SDK's four series for ten services in the
// process and in eight worker partitions. CPU time (getrusage), so other load on the machine skews little.
// Usage: cppd_metrics_bench [events] (default 100,000,000).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <cppd/metrics.hpp>
#include <cppd/worker.hpp>

namespace {

double cpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

template <typename Fn>
double nsPerEvent(long events, Fn&& fn) {
  const double start = cpuSeconds();
  for (long i = 0; i < events; ++i) fn();
  return (cpuSeconds() - start) * 1e9 / static_cast<double>(events);
}

std::atomic<std::uint64_t> floorCell{0};

}  // namespace

int main(int argc, char** argv) {
  const long events = argc > 1 ? std::atol(argv[1]) : 100000000L;
  const cppd::Counter counter = cppd::counter("bench_events_total", "Events.");
  const cppd::Gauge gauge = cppd::gauge("bench_open", "Open.");
  const double atomicNs = nsPerEvent(events, [] { floorCell.fetch_add(1, std::memory_order_relaxed); });
  const double counterNs = nsPerEvent(events, [&counter] { counter.add(); });
  const double gaugeNs = nsPerEvent(events, [&gauge] { gauge.add(); });
  std::printf("relaxed atomic add: %.2f ns/event\nCounter::add:       %.2f ns/event\nGauge::add:         "
              "%.2f ns/event\n", atomicNs, counterNs, gaugeNs);

  // A scrape's collection: 8 workers, each with the SDK's 4 series for 10 services, plus the supervisor's own.
  cppd::detail::prepareWorkers(8, false);
  for (int s = 0; s < 10; ++s) {
    const cppd::MetricLabels labels{{"service", "service" + std::to_string(s)}};
    cppd::detail::builtinCounter("cppd_connections_accepted_total", "Accepted.", labels).add(s);
    cppd::detail::builtinGauge("cppd_connections_active", "Open.", labels).add(s);
    cppd::detail::builtinCounter("cppd_bytes_sent_total", "Bytes.", labels).add(s);
    cppd::detail::builtinCounter("cppd_connection_errors_total", "Errors.", labels).add(s);
  }
  int go[2];
  if (::pipe(go) != 0) return 1;
  pid_t workers[8];
  for (std::size_t w = 0; w < 8; ++w) {
    workers[w] = ::fork();
    if (workers[w] == 0) {
      ::close(go[1]);
      cppd::detail::useWorkerMetrics(w);
      char byte;
      while (::read(go[0], &byte, 1) > 0) {
      }
      std::_Exit(0);
    }
  }
  ::close(go[0]);
  constexpr long kScrapes = 2000;
  std::size_t series = 0;
  const double scrapeNs = nsPerEvent(kScrapes, [&series] { series = cppd::detail::readMetrics().size(); });
  ::close(go[1]);
  for (pid_t pid : workers) ::waitpid(pid, nullptr, 0);
  std::printf("readMetrics, 8 workers x 10 services (%zu series): %.1f us of CPU per collection\n", series,
              scrapeNs / 1000);
  return 0;
}
