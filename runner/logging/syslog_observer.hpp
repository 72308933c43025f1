#pragma once

// --syslog: twistd's SyslogObserver (python/syslog.py).

#include <string>

#include <cppd/log.hpp>

namespace cppd::runner {

/// Sends each event to syslog(3) as one record, "[system] text", both escaped as in the log file
/// (cppd::appendEscapedLogText: a multi-line text keeps its breaks as "\n", a client's control bytes cannot reach
/// the syslog daemon or a terminal raw); events with no text are ignored. Priorities: debug LOG_DEBUG, info
/// LOG_INFO, warn LOG_WARNING, error LOG_ERR, critical LOG_ALERT. openlog(prefix, LOG_PID | LOG_NDELAY,
/// LOG_DAEMON) happens in the constructor, so the socket is connected before any chroot.
class SyslogObserver final : public ILogObserver {
 public:
  explicit SyslogObserver(std::string prefix);
  ~SyslogObserver() override;  // closelog()
  void observe(const LogEvent& event) override;

  /// The syslog priority for level (for tests).
  static int priorityFor(LogLevel level) noexcept;
  /// The record sent for event (for tests): "[system] text", escaped; empty when the event has no text.
  static std::string record(const LogEvent& event);

 private:
  std::string prefix_;  // openlog keeps the pointer
};

}  // namespace cppd::runner
