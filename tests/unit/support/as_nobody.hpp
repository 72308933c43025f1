#pragma once

// Runs a check in a forked child as the `nobody` user (65534:65534) when the test runs as root, so that file and
// directory permissions bind as they would for the unprivileged daemon; as anyone else the child keeps the
// caller's ids. Either way the check runs: nothing is skipped.

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cppd::test {

inline constexpr uid_t kNobody = 65534;
inline constexpr gid_t kNogroup = 65534;

/// body() -> bool runs in the child, which must not return into Catch2: it exits 0 when body returns true, 1 when
/// false, 2 when it throws, 90 when the ids cannot be dropped. Returns that status, or 100 + the signal that
/// killed the child.
template <typename Body>
int runAsNobody(Body&& body) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(kNogroup) != 0 || ::setuid(kNobody) != 0)) ::_exit(90);
    int code = 2;
    try {
      code = body() ? 0 : 1;
    } catch (...) {
    }
    ::_exit(code);
  }
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) != child) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

}  // namespace cppd::test
