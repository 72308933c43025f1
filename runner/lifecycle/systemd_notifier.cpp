#include "lifecycle/systemd_notifier.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string_view>

#include <fmt/format.h>

#include <cppd/log.hpp>
#include <cppd/posix/unique_fd.hpp>

// The notification protocol is sd_notify(3)'s documented, stable datagram protocol, spoken directly: linking
// libsystemd for it would also load libgcrypt, liblzma, liblz4, libzstd and libcap into every cppd process
// (about 1 MB of resident memory) for four lines of socket code.
namespace cppd::runner {
namespace {

std::optional<std::uint64_t> unsignedFromEnvironment(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  std::uint64_t value = 0;
  const std::string_view view(text);
  auto [end, error] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (error != std::errc() || end != view.data() + view.size()) return std::nullopt;
  return value;
}

}  // namespace

SystemdNotifier SystemdNotifier::fromEnvironment() {
  SystemdNotifier notifier;
  const char* socket = std::getenv("NOTIFY_SOCKET");
  notifier.enabled_ = socket != nullptr && *socket != '\0';
  if (notifier.enabled_) notifier.socketPath_ = socket;
  // The watchdog is ours only when WATCHDOG_PID is absent or names this process (not a parent that execs us).
  const auto usec = unsignedFromEnvironment("WATCHDOG_USEC");
  const auto pid = unsignedFromEnvironment("WATCHDOG_PID");
  const bool forUs = !std::getenv("WATCHDOG_PID") || (pid && *pid == static_cast<std::uint64_t>(::getpid()));
  // At least 1 ms: a tiny WATCHDOG_USEC must not turn the ping into a busy loop.
  if (usec && *usec > 0 && forUs) {
    notifier.watchdogInterval_ = std::chrono::microseconds(std::max<std::uint64_t>(*usec / 2, 1000));
  }
  return notifier;
}

void SystemdNotifier::ready(std::string_view status) const {
  send(fmt::format("READY=1\nSTATUS={}", status));
}

void SystemdNotifier::stopping(std::string_view status) const {
  send(fmt::format("STOPPING=1\nSTATUS={}", status));
}

void SystemdNotifier::reloading(std::string_view status) const {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<std::uint64_t>(now.tv_sec) * 1000000 + static_cast<std::uint64_t>(now.tv_nsec) / 1000;
  send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS={}", usec, status));
}

std::vector<std::string> SystemdNotifier::environment() const {
  std::vector<std::string> out;
  if (!enabled_) return out;
  out.push_back("NOTIFY_SOCKET=" + socketPath_);
  if (watchdogInterval_) {
    out.push_back(fmt::format("WATCHDOG_USEC={}", watchdogInterval_->count() * 2));
    out.push_back(fmt::format("WATCHDOG_PID={}", ::getpid()));
  }
  return out;
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
  // A failure is worth a log line but never stops the server.
  auto fail = [&](const char* operation, int errnum) {
    log::warn("sd_notify {} {}: {} ({})", operation, socketPath_, std::strerror(errnum),
              message.substr(0, message.find('\n')));
  };
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socketPath_.size() >= sizeof address.sun_path || (socketPath_[0] != '/' && socketPath_[0] != '@')) {
    return fail("address", EINVAL);
  }
  std::memcpy(address.sun_path, socketPath_.data(), socketPath_.size());
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // the abstract namespace
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socketPath_.size());
  const posix::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail("socket", errno);
  if (::sendto(fd.get(), message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address),
               length) < 0) {
    fail("sendto", errno);
  }
}

}  // namespace cppd::runner
