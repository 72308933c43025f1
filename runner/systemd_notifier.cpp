#include "systemd_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include <cppd/log.hpp>

namespace cppd::runner {

SystemdNotifier SystemdNotifier::fromEnvironment() {
  SystemdNotifier notifier;
  const char* socket = std::getenv("NOTIFY_SOCKET");
  notifier.enabled_ = socket != nullptr && *socket != '\0';
  std::uint64_t usec = 0;
  // sd_watchdog_enabled checks WATCHDOG_PID against our own pid, so a watchdog meant for a parent is ignored.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    notifier.watchdogInterval_ = std::chrono::microseconds(usec / 2);
  }
  return notifier;
}

void SystemdNotifier::ready(std::string_view status) const {
  send(fmt::format("READY=1\nSTATUS={}", status));
}

void SystemdNotifier::stopping(std::string_view status) const {
  send(fmt::format("STOPPING=1\nSTATUS={}", status));
}

void SystemdNotifier::status(std::string_view status) const { send(fmt::format("STATUS={}", status)); }

void SystemdNotifier::mainPid(pid_t pid) const { send(fmt::format("MAINPID={}", pid)); }

void SystemdNotifier::watchdog() const { send("WATCHDOG=1"); }

void SystemdNotifier::forgetEnvironment() {
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

void SystemdNotifier::send(const std::string& message) const {
  if (!enabled_) return;
  // sd_notify reads NOTIFY_SOCKET itself; a failure is worth a log line but never stops the server.
  int rc = sd_notify(0, message.c_str());
  if (rc < 0) {
    log::warn("sd_notify {}: {}", message.substr(0, message.find('\n')), std::strerror(-rc));
  }
}

}  // namespace cppd::runner
