#include "syslog_observer.hpp"

#include <syslog.h>

#include <chrono>

#include <catch2/catch.hpp>

using cppd::LogLevel;
using cppd::runner::SyslogObserver;

TEST_CASE("Syslog priorities follow the level; errors and worse are LOG_ERR and LOG_ALERT", "[runner]") {
  CHECK(SyslogObserver::priorityFor(LogLevel::debug) == LOG_DEBUG);
  CHECK(SyslogObserver::priorityFor(LogLevel::info) == LOG_INFO);
  CHECK(SyslogObserver::priorityFor(LogLevel::warn) == LOG_WARNING);
  CHECK(SyslogObserver::priorityFor(LogLevel::error) == LOG_ERR);
  CHECK(SyslogObserver::priorityFor(LogLevel::critical) == LOG_ALERT);
}

TEST_CASE("The syslog observer takes empty, single-line and multi-line events without a syslog daemon", "[runner]") {
  SyslogObserver observer("cppd-unit-test");
  const auto now = std::chrono::system_clock::now();
  observer.observe(cppd::LogEvent{now, LogLevel::info, "-", ""});
  observer.observe(cppd::LogEvent{now, LogLevel::info, "sys", "one line"});
  observer.observe(cppd::LogEvent{now, LogLevel::error, "sys", "first\nsecond\n\n"});
  SUCCEED("no crash, no exception");
}
