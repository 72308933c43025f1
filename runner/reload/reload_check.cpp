#include "reload/reload_check.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <fmt/core.h>

#include <cppd/posix/unique_fd.hpp>

#include "lifecycle/signals.hpp"

extern char** environ;

namespace cppd::runner {
namespace {

constexpr std::size_t kMaxOutput = 8192;
constexpr int kCheckNice = 10;

std::int64_t nowMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// The first non-empty line of text (cppd says what is wrong there; a usage text may follow), control bytes shown
// as '?' (it reaches the log and cppdctl), at most 400 bytes.
std::string firstLine(const std::string& text) {
  const std::size_t start = text.find_first_not_of("\r\n");
  if (start == std::string::npos) return {};
  const std::size_t end = text.find_first_of("\r\n", start);
  std::string line = text.substr(start, std::min<std::size_t>(end == std::string::npos ? text.size() - start
                                                                                       : end - start, 400));
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return line;
}

}  // namespace

ReloadCheck ReloadCheck::run(const std::string& binary, const std::vector<std::string>& args, const std::string& dir,
                             std::chrono::milliseconds timeout) {
  ReloadCheck check;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    check.failure = fmt::format("pipe for the check: {}", std::strerror(errno));
    return check;
  }
  posix::UniqueFd readEnd(fds[0]);
  posix::UniqueFd writeEnd(fds[1]);
  std::vector<std::string> argv{binary, "--check"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, writeEnd.get(), 1);
  ::posix_spawn_file_actions_adddup2(&actions, writeEnd.get(), 2);
  ::posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawnattr_t attributes;
  ::posix_spawnattr_init(&attributes);
  sigset_t none;
  sigset_t all;
  ::sigemptyset(&none);
  ::sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attributes, &none);
  ::posix_spawnattr_setsigdefault(&attributes, &all);
  ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  // The check is background work next to the workers that serve meanwhile: it runs at a lower priority (on
  // Linux a child inherits the nice value of the thread that created it, which is set back right after).
  const auto self = static_cast<id_t>(::gettid());
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, self);
  const bool lowered = errno == 0 && ::setpriority(PRIO_PROCESS, self, std::max(nice, kCheckNice)) == 0;
  const int error = ::posix_spawn(&check.pid, binary.c_str(), &actions, &attributes, raw.data(), environ);
  if (lowered) ::setpriority(PRIO_PROCESS, self, nice);
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attributes);
  writeEnd.reset();
  if (error != 0) {
    check.pid = -1;
    check.failure = fmt::format("run {}: {}", binary, std::strerror(error));
    return check;
  }
  const std::int64_t deadline = nowMs() + timeout.count();
  char buffer[4096];
  for (;;) {
    const std::int64_t left = deadline - nowMs();
    if (left <= 0) {
      ::kill(check.pid, SIGKILL);
      check.failure = fmt::format("{} --check did not finish within --reload-timeout ({} s); killed it", binary,
                                  std::chrono::duration<double>(timeout).count());
      break;
    }
    pollfd p{readEnd.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(readEnd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // every writer has gone: the check is exiting
    if (check.output.size() < kMaxOutput) check.output.append(buffer, std::min<std::size_t>(n, kMaxOutput - check.output.size()));
  }
  // Its output has ended; its exit comes by the same deadline (one that closed its output and went on running is
  // killed too), so this thread never waits without end. The wait is on a pidfd, which turns readable when the
  // check exits; without one (a kernel before 5.3) it looks every 5 ms.
  const posix::UniqueFd exited(static_cast<int>(::syscall(SYS_pidfd_open, check.pid, 0)));
  int status = 0;
  pid_t waited = -1;
  for (;;) {
    waited = ::waitpid(check.pid, &status, WNOHANG);
    if (waited != 0 && !(waited < 0 && errno == EINTR)) break;
    const std::int64_t left = deadline - nowMs();
    if (left <= 0) {
      ::kill(check.pid, SIGKILL);
      if (check.failure.empty()) {
        check.failure = fmt::format("{} --check did not exit within --reload-timeout ({} s); killed it", binary,
                                    std::chrono::duration<double>(timeout).count());
      }
      do {
        waited = ::waitpid(check.pid, &status, 0);
      } while (waited < 0 && errno == EINTR);
      break;
    }
    pollfd p{exited.get(), POLLIN, 0};
    ::poll(&p, exited ? 1 : 0, exited ? static_cast<int>(std::min<std::int64_t>(left, 1000)) : 5);
  }
  if (waited == check.pid) check.status = status;
  return check;
}

std::string ReloadCheck::verdict(std::optional<int> collectedElsewhere) const {
  if (!failure.empty()) return failure;
  const std::optional<int> wait = status ? status : collectedElsewhere;
  const std::string said = firstLine(output);
  if (!wait) return "the check's exit status was lost";
  if (WIFEXITED(*wait) && WEXITSTATUS(*wait) == 0) return {};
  const std::string how = WIFEXITED(*wait) ? fmt::format("exit status {}", WEXITSTATUS(*wait))
                                           : fmt::format("killed by {}", signalName(WTERMSIG(*wait)));
  return said.empty() ? fmt::format("the check failed ({})", how) : fmt::format("{} ({})", said, how);
}

}  // namespace cppd::runner
