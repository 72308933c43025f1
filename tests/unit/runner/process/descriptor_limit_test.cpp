#include "process/descriptor_limit.hpp"

#include <sys/resource.h>

#include <catch2/catch.hpp>

TEST_CASE("raiseDescriptorLimit lifts the soft descriptor limit to the hard limit", "[runner]") {
  struct rlimit original {};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &original) == 0);
  struct rlimit lowered = original;
  lowered.rlim_cur = original.rlim_max > 256 ? 256 : original.rlim_cur;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  const rlim_t result = cppd::runner::raiseDescriptorLimit();
  struct rlimit now {};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &now) == 0);
  ::setrlimit(RLIMIT_NOFILE, &original);
  CHECK(result == now.rlim_cur);
  if (original.rlim_max != RLIM_INFINITY) CHECK(now.rlim_cur == original.rlim_max);
  else CHECK(now.rlim_cur > 256);  // capped at fs.nr_open
  CHECK(now.rlim_max == original.rlim_max);
}
