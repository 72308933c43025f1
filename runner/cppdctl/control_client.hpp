#pragma once

// cppdctl's side of the control socket: connect, send one request line, read one reply line, and (for stop)
// wait for the daemon to go away. Blocking with deadlines: a daemon that does not answer is reported, never
// waited on for ever (a stop's wait has a deadline only when the user gave one: the daemon's own
// --shutdown-timeout bounds its stop).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include <cppd/posix/unique_fd.hpp>

namespace cppd::ctl {

/// A failure with the exit code cppdctl leaves with (69: nothing answers, 77: not allowed, 74: I/O).
class ClientError : public std::runtime_error {
 public:
  ClientError(int exitCode, const std::string& message) : std::runtime_error(message), exitCode_(exitCode) {}
  int exitCode() const noexcept { return exitCode_; }

 private:
  int exitCode_;
};

class ControlClient {
 public:
  /// Connects to the socket at path. Throws ClientError: 69 when nothing answers (no file, refused, not a
  /// socket), 77 when the socket may not be opened by this user, 64 for a path too long.
  ControlClient(const std::string& path, std::chrono::milliseconds timeout);

  /// Sends line (a newline is added) and returns the reply line without its newline. Throws ClientError (69)
  /// when the daemon closes without replying or does not reply within the timeout.
  std::string request(const std::string& line);

  /// Blocks until the daemon closes the connection (it does so as it exits); false when deadline (if any)
  /// passes first.
  bool waitForClose(std::optional<std::chrono::steady_clock::time_point> deadline);

 private:
  std::string path_;
  std::chrono::milliseconds timeout_;
  posix::UniqueFd fd_;
  std::string pending_;  // bytes read past the reply line
};

/// Blocks until process pid no longer runs (gone, or a zombie with no thread left), polling; false when
/// deadline (if any) passes first.
bool waitForExit(pid_t pid, std::optional<std::chrono::steady_clock::time_point> deadline);

}  // namespace cppd::ctl
