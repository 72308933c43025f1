#include "process/child_reaper.hpp"

#include <sys/wait.h>

#include <csignal>
#include <cstring>

#include <cppd/log.hpp>

namespace cppd::runner {

ChildReaper::ChildReaper(Reactor& reactor)
    : watch_(reactor.onSignal(SIGCHLD, [](int) { reapExited(); })) {
  reapExited();  // children that ended before the watch existed
}

int ChildReaper::reapExited() {
  int reaped = 0;
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;  // 0: none exited yet; -1 with ECHILD: no children at all
    ++reaped;
    if (WIFSIGNALED(status)) {
      log::info("reaped child PID {} (killed by signal {}: {})", pid, WTERMSIG(status), ::strsignal(WTERMSIG(status)));
    } else {
      log::info("reaped child PID {} (exit status {})", pid, WEXITSTATUS(status));
    }
  }
  return reaped;
}

}  // namespace cppd::runner
