#include "cppdctl/control_client.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <thread>

#include <fmt/core.h>

namespace cppd::ctl {
namespace {

constexpr std::size_t maxReply = 16 * 1024 * 1024;  // a reply this long is not from cppd

int exitCodeForConnect(int error) {
  if (error == EACCES || error == EPERM) return 77;
  return 69;  // ENOENT, ECONNREFUSED, ENOTSOCK...: nothing answers there
}

// Waits until fd is readable: false when the deadline passes first.
bool readable(int fd, std::chrono::steady_clock::time_point deadline, const std::string& path) {
  for (;;) {
    using std::chrono::milliseconds;
    const auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) {
      throw ClientError(74, fmt::format("poll control socket {}: {}", path, std::strerror(errno)));
    }
  }
}

}  // namespace

ControlClient::ControlClient(const std::string& path, std::chrono::milliseconds timeout)
    : path_(path), timeout_(timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    throw ClientError(64, fmt::format("control socket path '{}' must be 1 to {} bytes", path,
                                      sizeof address.sun_path - 1));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_) throw ClientError(71, fmt::format("socket for {}: {}", path, std::strerror(errno)));
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    throw ClientError(exitCodeForConnect(error), fmt::format("nothing answers at {}: {}{}", path,
                                                             std::strerror(error),
                                                             error == ENOENT ? " (is cppd running? give -s PATH)"
                                                                             : ""));
  }
}

std::string ControlClient::request(const std::string& line) {
  const std::string out = line + "\n";
  for (std::size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::send(fd_.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ClientError(69, fmt::format("send to control socket {}: {}", path_, std::strerror(errno)));
    sent += static_cast<std::size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    if (const auto newline = pending_.find('\n'); newline != std::string::npos) {
      std::string reply = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return reply;
    }
    if (pending_.size() > maxReply) throw ClientError(74, fmt::format("reply from {} is too long", path_));
    if (!readable(fd_.get(), deadline, path_)) {
      throw ClientError(69, fmt::format("no reply from the control socket {} in time", path_));
    }
    char buffer[65536];
    const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ClientError(69, fmt::format("read control socket {}: {}", path_, std::strerror(errno)));
    if (n == 0) throw ClientError(69, fmt::format("the daemon at {} closed the connection without a reply", path_));
    pending_.append(buffer, static_cast<std::size_t>(n));
  }
}

bool ControlClient::waitForClose(std::optional<std::chrono::steady_clock::time_point> deadline) {
  for (;;) {
    if (deadline && !readable(fd_.get(), *deadline, path_)) return false;
    char buffer[4096];
    const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;  // end of stream or reset: either way the daemon let go of it
  }
}

bool waitForExit(pid_t pid, std::optional<std::chrono::steady_clock::time_point> deadline) {
  for (;;) {
    if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) return true;
    // The daemon's parent (a test, a shell that started it with -n) may not have reaped it yet: a zombie has
    // exited once its main thread is the only task left (until then its other threads still hold its
    // descriptors, the pidfile's lock among them).
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (!stat) return true;
    if (close != std::string::npos && text.compare(close, 4, ") Z ") == 0) {
      std::error_code error;
      std::size_t tasks = 0;
      for (std::filesystem::directory_iterator it(fmt::format("/proc/{}/task", pid), error), end;
           !error && it != end; it.increment(error)) {
        ++tasks;
      }
      if (tasks <= 1) return true;
    }
    if (deadline && std::chrono::steady_clock::now() >= *deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace cppd::ctl
