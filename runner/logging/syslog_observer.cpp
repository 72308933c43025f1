#include "logging/syslog_observer.hpp"

#include <syslog.h>

#include <string_view>

namespace cppd::runner {

SyslogObserver::SyslogObserver(std::string prefix) : prefix_(std::move(prefix)) {
  ::openlog(prefix_.c_str(), LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

SyslogObserver::~SyslogObserver() { ::closelog(); }

int SyslogObserver::priorityFor(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug: return LOG_DEBUG;
    case LogLevel::info: return LOG_INFO;
    case LogLevel::warn: return LOG_WARNING;
    case LogLevel::error: return LOG_ERR;
    case LogLevel::critical: return LOG_ALERT;
  }
  return LOG_INFO;
}

std::string SyslogObserver::record(const LogEvent& event) {
  std::string out;
  if (event.text.empty()) return out;
  out.push_back('[');
  appendEscapedLogText(event.system.empty() ? std::string_view("-") : event.system, out);
  out.append("] ");
  appendEscapedLogText(event.text, out);
  return out;
}

void SyslogObserver::observe(const LogEvent& event) {
  const std::string line = record(event);
  if (line.empty()) return;
  ::syslog(priorityFor(event.level), "%.*s", static_cast<int>(line.size()), line.data());
}

}  // namespace cppd::runner
