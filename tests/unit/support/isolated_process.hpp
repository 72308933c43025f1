#pragma once

// Runs a piece of a test in a forked child, for what changes the whole process for good (the metrics arena is
// one per process): the child sends back a string, which the parent's assertions examine.

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>

namespace cppd::testing {

/// fn's result, "exception: <what>" when it threw, or "child died (<wait status>)". The child has ten seconds.
inline std::string inChild(const std::function<std::string()>& fn) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::close(fds[0]);
    ::alarm(10);
    std::string out;
    try {
      out = fn();
    } catch (const std::exception& e) {
      out = std::string("exception: ") + e.what();
    }
    for (std::size_t done = 0; done < out.size();) {
      const ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    std::_Exit(0);  // no Catch2 teardown, no static destructors of the parent's image
  }
  ::close(fds[1]);
  std::string result;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    result.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child died (" + std::to_string(status) + ")";
  return result;
}

}  // namespace cppd::testing
