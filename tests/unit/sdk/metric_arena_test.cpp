#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/metrics.hpp>
#include <cppd/worker.hpp>

#include "unit/support/isolated_process.hpp"

namespace {

// "name{k=v}=value;" for every series, in the order read.
std::string shown(const std::vector<cppd::detail::MetricReading>& readings, std::string_view prefix = "ma_") {
  std::string out;
  for (const auto& r : readings) {
    if (!r.name.starts_with(prefix)) continue;
    out += r.name;
    if (!r.labels.empty()) {
      out += '{';
      for (const auto& [k, v] : r.labels) out += k + "=" + v + ",";
      out.back() = '}';
    }
    out += "=" + (r.counter ? std::to_string(r.count) : std::to_string(r.gauge)) + ";";
  }
  return out;
}

// In a forked worker: keeps only its ends of the pipes (the parent's end of go must close everywhere for the
// worker to see it close) and ends within ten seconds whatever happens.
void becomeTestWorker(int readyRead, int goWrite) {
  ::close(readyRead);
  ::close(goWrite);
  ::alarm(10);
}

// A worker on board slot: counts into its own partition, registers a series of its own after the fork, tells
// the parent (ready) and waits until the parent closes go.
pid_t forkWorker(std::size_t slot, const int (&readyPipe)[2], const int (&goPipe)[2]) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  becomeTestWorker(readyPipe[0], goPipe[1]);
  const int ready = readyPipe[1];
  const int go = goPipe[0];
  cppd::detail::useWorkerMetrics(slot);
  cppd::counter("ma_pre_total", "Before the fork.").add(10 * (slot + 1));
  cppd::gauge("ma_open", "Open.").add(static_cast<std::int64_t>(slot) + 2);
  cppd::counter("ma_late_total", "After the fork.", {{"w", std::to_string(slot)}}).add(7);
  cppd::counter("ma_shared_total", "Registered by both.").add(1);
  const char byte = 'r';
  if (::write(ready, &byte, 1) != 1) std::_Exit(2);
  char ignored;
  while (::read(go, &ignored, 1) > 0) {
  }
  std::_Exit(0);
}

std::string scenario() {
  cppd::detail::prepareWorkers(2, false);  // before the first fork: the arena becomes shared
  cppd::counter("ma_pre_total", "Before the fork.").add(1);
  cppd::gauge("ma_open", "Open.");
  int ready[2];
  int go[2];
  if (::pipe(ready) != 0 || ::pipe(go) != 0) return "pipe failed";
  const pid_t a = forkWorker(0, ready, go);
  const pid_t b = forkWorker(1, ready, go);
  ::close(go[0]);
  char byte;
  for (int i = 0; i < 2; ++i) {
    if (::read(ready[0], &byte, 1) != 1) return "a worker never got ready";
  }
  std::string out = "live:" + shown(cppd::detail::readMetrics()) + "\n";
  out += "slot1:" + shown(cppd::detail::readWorkerMetrics(1)) + "\n";
  ::close(go[1]);
  ::waitpid(a, nullptr, 0);
  ::waitpid(b, nullptr, 0);
  cppd::detail::foldWorkerMetrics(0);
  cppd::detail::foldWorkerMetrics(1);
  out += "reaped:" + shown(cppd::detail::readMetrics()) + "\n";
  out += "slot0:" + shown(cppd::detail::readWorkerMetrics(0)) + "\n";
  // The slot's next worker starts from zero, with the series the supervisor had before it forked.
  if (::pipe(go) != 0) return "pipe failed";
  const pid_t c = ::fork();
  if (c == 0) {
    becomeTestWorker(ready[0], go[1]);
    cppd::detail::useWorkerMetrics(0);
    if (::write(ready[1], "r", 1) != 1) std::_Exit(2);
    while (::read(go[0], &byte, 1) > 0) {
    }
    std::_Exit(0);
  }
  ::close(go[0]);
  if (::read(ready[0], &byte, 1) != 1) return "the new worker never got ready";
  out += "reused:" + shown(cppd::detail::readWorkerMetrics(0)) + "\n";
  out += "total:" + shown(cppd::detail::readMetrics()) + "\n";
  ::close(go[1]);
  ::waitpid(c, nullptr, 0);
  return out;
}

}  // namespace

TEST_CASE("Workers' series are read by the parent, kept when reaped, and a reused slot starts at zero",
          "[metrics][arena]") {
  const std::string out = cppd::testing::inChild(scenario);
  INFO(out);
  // Both workers registered after the fork, at the same time: the parent sees both from their records.
  CHECK_THAT(out, Catch::Contains("live:ma_late_total{w=0}=7;ma_late_total{w=1}=7;ma_open=5;ma_pre_total=31;"
                                  "ma_shared_total=2;\n"));
  CHECK_THAT(out, Catch::Contains("slot1:ma_pre_total=20;ma_open=3;ma_late_total{w=1}=7;ma_shared_total=1;\n"));
  // Reaped: the counters stay, the gauges of the dead workers are gone.
  CHECK_THAT(out, Catch::Contains("reaped:ma_late_total{w=0}=7;ma_late_total{w=1}=7;ma_open=0;ma_pre_total=31;"
                                  "ma_shared_total=2;\n"));
  CHECK_THAT(out, Catch::Contains("slot0:\n"));
  CHECK_THAT(out, Catch::Contains("reused:ma_pre_total=0;ma_open=0;\n"));
  CHECK_THAT(out, Catch::Contains("total:ma_late_total{w=0}=7;ma_late_total{w=1}=7;ma_open=0;ma_pre_total=31;"
                                  "ma_shared_total=2;\n"));
}
