#include "logging/syslog_observer.hpp"

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

TEST_CASE("The syslog observer sends one escaped record per event, whatever the text holds", "[runner]") {
  const auto now = std::chrono::system_clock::now();
  CHECK(SyslogObserver::record(cppd::LogEvent{now, LogLevel::info, "-", ""}).empty());
  CHECK(SyslogObserver::record(cppd::LogEvent{now, LogLevel::info, "sys", "one line"}) == "[sys] one line");
  CHECK(SyslogObserver::record(cppd::LogEvent{now, LogLevel::error, "", "first\nsecond\n"}) ==
        "[-] first\\nsecond\\n");
  CHECK(SyslogObserver::record(cppd::LogEvent{now, LogLevel::info, "FTP,\x1b", "USER a\x1b[2J\r\nb\x7f"}) ==
        "[FTP,\\x1b] USER a\\x1b[2J\\r\\nb\\x7f");
}
