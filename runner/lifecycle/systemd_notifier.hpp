#pragma once

// Readiness and liveness notifications to systemd (sd_notify(3)), also understood by Debian's
// start-stop-daemon --notify-await. Without NOTIFY_SOCKET in the environment every call is a no-op.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cppd::runner {

class SystemdNotifier {
 public:
  /// Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID as they are now. The variables are left in place
  /// until forgetEnvironment(), so a daemonizing runner can still read them after the fork. Speaks the
  /// documented datagram protocol of sd_notify(3) itself.
  static SystemdNotifier fromEnvironment();

  /// True when a notification socket was given.
  bool enabled() const noexcept { return enabled_; }

  /// READY=1 with a STATUS= line: every service has started, privileges are dropped.
  void ready(std::string_view status) const;

  /// STOPPING=1 with a STATUS= line: shutdown has begun.
  void stopping(std::string_view status) const;

  /// RELOADING=1 with MONOTONIC_USEC= (now) and a STATUS= line: a reload has begun; ready() ends it either way.
  void reloading(std::string_view status) const;
  /// NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (this process) as "NAME=value", for the next image of this
  /// process (a reload's exec keeps the PID systemd tracks); empty when not enabled.
  std::vector<std::string> environment() const;
  /// A STATUS= line alone.
  void status(std::string_view status) const;

  /// MAINPID=pid: the daemon that systemd should track once the launcher has exited.
  void mainPid(pid_t pid) const;

  /// WATCHDOG=1: still alive.
  void watchdog() const;

  /// How often to send WATCHDOG=1 (half of WATCHDOG_USEC) when the service manager asked for it and the
  /// watchdog is meant for this process.
  std::optional<std::chrono::microseconds> watchdogInterval() const noexcept { return watchdogInterval_; }

  /// Removes NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID so that child processes do not inherit them (this
  /// notifier keeps what it read).
  static void forgetEnvironment();

 private:
  void send(const std::string& message) const;

  bool enabled_ = false;
  std::string socketPath_;  // NOTIFY_SOCKET as read: a path, or "@name" in the abstract namespace
  std::optional<std::chrono::microseconds> watchdogInterval_;
};

}  // namespace cppd::runner
