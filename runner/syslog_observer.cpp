#include "syslog_observer.hpp"

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

void SyslogObserver::observe(const LogEvent& event) {
  std::string_view text = event.text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return;
  const int priority = priorityFor(event.level);
  const std::string_view system = event.system.empty() ? std::string_view("-") : event.system;
  bool first = true;
  while (!text.empty() || first) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    ::syslog(priority, "[%.*s] %s%.*s", static_cast<int>(system.size()), system.data(), first ? "" : "\t",
             static_cast<int>(line.size()), line.data());
    first = false;
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace cppd::runner
