#pragma once

// A Catch2 2.13 test that cannot run here (it needs root, or a capability the machine withholds) must show up as
// skipped, never as passed: Catch2 2.13 has no SKIP, so the test prints a marker that tests/CMakeLists.txt gives
// ctest as SKIP_REGULAR_EXPRESSION for every discovered test case, and returns.

#include <iostream>
#include <string>

#include <catch2/catch.hpp>

namespace cppd::test {

/// The line ctest reads as "skipped" (keep in step with tests/CMakeLists.txt).
inline constexpr const char* kSkipMarker = "CPPD-TEST-SKIPPED: ";

/// Reports the running test case as skipped, saying why ("needs root (CI runs as root)"); return right after.
/// The SUCCEED keeps --warn NoAssertions from failing it when the executable is run by hand.
inline void skipTest(const std::string& why) {
  std::cout << kSkipMarker << why << std::endl;
  SUCCEED("skipped: " << why);
}

}  // namespace cppd::test
