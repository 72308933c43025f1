#include "workers/worker_count.hpp"

#include <sched.h>

#include <string>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

#include "options/server_options.hpp"

using cppd::runner::availableCpus;
using cppd::runner::parseServerOptions;
using cppd::runner::parseWorkerCount;

TEST_CASE("The worker count (--workers) takes 1 to 1024 or auto, and names a bad value") {
  CHECK(parseWorkerCount("1") == 1);
  CHECK(parseWorkerCount("1024") == 1024);
  for (const char* bad : {"0", "1025", "-1", "", "2x", " 2", "auto2", "4294967297"}) {
    INFO(bad);
    try {
      parseWorkerCount(bad);
      FAIL("accepted");
    } catch (const cppd::UsageError& e) {
      CHECK(std::string(e.what()) ==
            "--workers: '" + std::string(bad) + "' is not a number of workers (1-1024) or 'auto'");
    }
  }
}

TEST_CASE("The worker count auto is the CPUs this process may run on, at least one") {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  const unsigned cpus = availableCpus();
  CHECK(cpus >= 1);
  CHECK(cpus <= static_cast<unsigned>(CPU_COUNT(&set)));
  CHECK(parseWorkerCount("auto") == cpus);
}

TEST_CASE("Worker options are runner options, and the per-worker ones need --workers") {
  const auto o = parseServerOptions({"-n", "--workers", "3", "--worker-timeout", "2.5", "--max-requests=100",
                                     "--max-requests-jitter", "10", "--reuseport", "fastpoetry"});
  REQUIRE(o.workers);
  CHECK(*o.workers == 3);
  CHECK(o.workerTimeout == 2.5);
  CHECK(o.maxRequests == 100);
  CHECK(o.maxRequestsJitter == 10);
  CHECK(o.reusePort);
  CHECK(o.command == "fastpoetry");
  CHECK_FALSE(parseServerOptions({"-n", "fastpoetry"}).workers);
  for (const char* option : {"--reuseport", "--max-requests=5", "--max-requests-jitter=5"}) {
    INFO(option);
    CHECK_THROWS_AS(parseServerOptions({"-n", option, "fastpoetry"}), cppd::UsageError);
  }
}
