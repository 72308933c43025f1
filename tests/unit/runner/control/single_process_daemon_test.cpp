#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/application.hpp>
#include <cppd/metrics.hpp>
#include <cppd/version.hpp>

#include "control/single_process_daemon.hpp"

using cppd::runner::MetricSample;
using cppd::runner::SingleProcessDaemon;

namespace {

const MetricSample* find(const std::vector<MetricSample>& samples, const std::string& name) {
  const auto it = std::find_if(samples.begin(), samples.end(), [&](const MetricSample& s) { return s.name == name; });
  return it == samples.end() ? nullptr : &*it;
}

SingleProcessDaemon daemon(SingleProcessDaemon::Actions actions) {
  return SingleProcessDaemon(std::make_shared<cppd::Application>("spd"), {}, {}, std::move(actions));
}

}  // namespace

TEST_CASE("A single process reports its build, start time, reloads, lost log lines, and itself as one worker",
          "[control][metrics]") {
  const auto samples = daemon({}).metrics();
  const MetricSample* build = find(samples, "cppd_build_info");
  REQUIRE(build != nullptr);
  CHECK(build->value == 1);
  CHECK(build->labels == std::vector<std::pair<std::string, std::string>>{{"version", cppd::versionString()}});
  REQUIRE(find(samples, "cppd_start_time_seconds") != nullptr);
  CHECK(find(samples, "cppd_start_time_seconds")->value > 1.7e9);
  REQUIRE(find(samples, "cppd_reloads_total") != nullptr);
  CHECK(find(samples, "cppd_reloads_total")->type == MetricSample::Type::counter);
  CHECK(find(samples, "cppd_reloads_total")->value == 0);
  REQUIRE(find(samples, "cppd_log_lines_lost_total") != nullptr);
  REQUIRE(find(samples, "cppd_workers") != nullptr);
  CHECK(find(samples, "cppd_workers")->type == MetricSample::Type::gauge);
  CHECK(find(samples, "cppd_workers")->value == 1);
  REQUIRE(find(samples, "cppd_worker_restarts_total") != nullptr);
  CHECK(find(samples, "cppd_worker_restarts_total")->value == 0);
}

TEST_CASE("A supervisor reports its live workers and their restarts", "[control][metrics]") {
  SingleProcessDaemon::Actions actions;
  // Three workers, one of them dead and not yet replaced (no pid): two are live.
  actions.workers = [] {
    std::vector<cppd::runner::WorkerFacts> workers(3);
    workers[0].pid = 100;
    workers[2].pid = 102;
    return workers;
  };
  actions.restarts = [] { return std::uint64_t{7}; };
  const auto samples = daemon(std::move(actions)).metrics();
  REQUIRE(find(samples, "cppd_workers") != nullptr);
  CHECK(find(samples, "cppd_workers")->value == 2);
  REQUIRE(find(samples, "cppd_worker_restarts_total") != nullptr);
  CHECK(find(samples, "cppd_worker_restarts_total")->value == 7);
}

TEST_CASE("Samples of one name are adjacent", "[control][metrics]") {
  // Registered apart, collected together: the two series of one name, with another name between them.
  cppd::counter("adjacency_test_total", "A test counter.", {{"k", "a"}}).add();
  cppd::counter("adjacency_other_total", "Another test counter.").add();
  cppd::counter("adjacency_test_total", "A test counter.", {{"k", "b"}}).add();
  const auto samples = daemon({}).metrics();
  CHECK(std::count_if(samples.begin(), samples.end(),
                      [](const MetricSample& s) { return s.name == "adjacency_test_total"; }) == 2);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    for (std::size_t j = i + 2; j < samples.size(); ++j) {
      if (samples[j].name == samples[i].name) CHECK(samples[j - 1].name == samples[i].name);
    }
  }
}

TEST_CASE("ready() follows the run: true without a hook, else what the run says", "[control][metrics]") {
  CHECK(daemon({}).ready());
  bool serving = true;
  SingleProcessDaemon::Actions actions;
  actions.ready = [&serving] { return serving; };
  const SingleProcessDaemon d = daemon(std::move(actions));
  CHECK(d.ready());
  serving = false;
  CHECK_FALSE(d.ready());
}
