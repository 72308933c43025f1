#include "login_guard.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using ftp::LoginGuard;

TEST_CASE("LoginGuard refuses an address for the block time after its failures reach the limit", "[ftp]") {
  LoginGuard guard(3, 60s);
  const auto t0 = LoginGuard::Clock::now();
  CHECK_FALSE(guard.failed("192.0.2.1", t0));
  CHECK_FALSE(guard.failed("192.0.2.1", t0 + 1s));
  CHECK(guard.allowed("192.0.2.1", t0 + 1s));
  CHECK(guard.failed("192.0.2.1", t0 + 2s));
  CHECK_FALSE(guard.allowed("192.0.2.1", t0 + 3s));
  CHECK(guard.allowed("192.0.2.2", t0 + 3s));  // another address is not affected
  CHECK(guard.allowed("192.0.2.1", t0 + 63s));  // the block has ended
  CHECK(guard.tracked() == 0);
}

TEST_CASE("LoginGuard forgets failures older than the block time, and with no limit refuses nothing", "[ftp]") {
  LoginGuard guard(2, 10s);
  const auto t0 = LoginGuard::Clock::now();
  CHECK_FALSE(guard.failed("a", t0));
  CHECK_FALSE(guard.failed("a", t0 + 11s));  // the first failure has expired
  CHECK(guard.allowed("a", t0 + 12s));
  LoginGuard unlimited(0, 10s);
  for (int i = 0; i < 100; ++i) CHECK_FALSE(unlimited.failed("a", t0));
  CHECK(unlimited.allowed("a", t0));
}

TEST_CASE("LoginGuard remembers a bounded number of addresses", "[ftp]") {
  LoginGuard guard(5, 10s);
  const auto t0 = LoginGuard::Clock::now();
  for (std::size_t i = 0; i < LoginGuard::kMaxTracked + 100; ++i) guard.failed("host" + std::to_string(i), t0);
  CHECK(guard.tracked() == LoginGuard::kMaxTracked);
}
