#include "lifecycle/shutdown_backstop.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <optional>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>

#include "logging/line_buffer.hpp"
#include "logging/log_file.hpp"
#include "process/pid_file.hpp"
#include "lifecycle/signals.hpp"

namespace cppd::runner {
namespace {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC, which sem_clockwait is given below

// A signal handler has no argument to find its object through: its state lives here. Only lock-free atomics
// and sem_post are touched in the handler, both async-signal-safe.
struct HandlerState {
  std::atomic<int> stopSignals{0};
  std::atomic<int> lastSignal{0};
  std::atomic<bool> disarmed{false};
  sem_t wake;
  struct sigaction chained[2];  // what ran before us for SIGTERM and SIGINT
};
HandlerState state;

constexpr int kStopSignals[] = {SIGTERM, SIGINT};

void onStopSignal(int signum, siginfo_t* info, void* context) {
  const int savedErrno = errno;
  state.lastSignal.store(signum);
  state.stopSignals.fetch_add(1);
  ::sem_post(&state.wake);
  const struct sigaction& next = state.chained[signum == SIGINT ? 1 : 0];
  if ((next.sa_flags & SA_SIGINFO) != 0) {
    if (next.sa_sigaction != nullptr) next.sa_sigaction(signum, info, context);
  } else if (next.sa_handler != SIG_DFL && next.sa_handler != SIG_IGN && next.sa_handler != nullptr) {
    next.sa_handler(signum);
  }
  errno = savedErrno;
}

// Gives up rather than wait: the loop thread may itself be blocked writing to the same pipe (stdout read by a
// log reader that stopped reading), and the exit must not queue behind it. A write of at most PIPE_BUF bytes to
// a pipe that polls writable does not block.
void writeAllTo(int fd, std::string_view text) {
  constexpr int kWritableWithinMs = 100;
  while (!text.empty()) {
    pollfd ready{fd, POLLOUT, 0};
    if (::poll(&ready, 1, kWritableWithinMs) <= 0 || (ready.revents & POLLOUT) == 0) return;
    const ssize_t written = ::write(fd, text.data(), std::min<std::size_t>(text.size(), PIPE_BUF));
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;  // nothing better to do on the way out
    text.remove_prefix(static_cast<std::size_t>(written));
  }
}

std::string seconds(std::chrono::milliseconds duration) {
  return fmt::format("{:g}s", static_cast<double>(duration.count()) / 1000);
}

}  // namespace

ShutdownBackstop::ShutdownBackstop(Settings settings) : settings_(std::move(settings)) {
  if (settings_.pidFile != nullptr) {
    pidFd_ = settings_.pidFile->fd();
    pidDirFd_ = settings_.pidFile->dirFd();
    const std::string& path = settings_.pidFile->path();
    pidBase_ = path.substr(path.rfind('/') + 1);
  }
  state.stopSignals.store(0);
  state.disarmed.store(false);
  ::sem_init(&state.wake, 0, 0);
  // The thread is created with every signal blocked, so signals keep going to the loop thread as before.
  sigset_t all, previous;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &previous);
  thread_ = std::thread([this] { watch(); });
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  struct sigaction ours {};
  ours.sa_sigaction = onStopSignal;
  ours.sa_flags = SA_SIGINFO | SA_RESTART;
  ::sigemptyset(&ours.sa_mask);
  for (int i = 0; i < 2; ++i) ::sigaction(kStopSignals[i], &ours, &state.chained[i]);
}

ShutdownBackstop::~ShutdownBackstop() {
  state.disarmed.store(true);
  ::sem_post(&state.wake);
  thread_.join();
  for (int i = 0; i < 2; ++i) {
    struct sigaction current {};
    ::sigaction(kStopSignals[i], nullptr, &current);
    // SignalHandlers' close (the reactor's watches ending) or ignoreStopSignals may have replaced us already.
    if ((current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction == onStopSignal) {
      ::sigaction(kStopSignals[i], &state.chained[i], nullptr);
    }
  }
}

// Waits for stop signals and forces the exit when the loop has not finished it by the deadline: the shutdown
// timeout plus the grace after the first signal, the grace alone after a second one.
void ShutdownBackstop::watch() {
  std::optional<Clock::time_point> deadline;
  std::string why;
  int seen = 0;
  for (;;) {
    if (deadline) {
      const auto since = deadline->time_since_epoch();
      const auto whole = std::chrono::duration_cast<std::chrono::seconds>(since);
      const struct timespec at {
        static_cast<time_t>(whole.count()), static_cast<long>((since - whole) / std::chrono::nanoseconds(1))
      };
      ::sem_clockwait(&state.wake, CLOCK_MONOTONIC, &at);
    } else {
      ::sem_wait(&state.wake);
    }
    if (state.disarmed.load()) return;
    const auto now = Clock::now();
    const int count = state.stopSignals.load();
    if (count > seen && seen == 0 && settings_.timeout.count() > 0) {
      deadline = now + settings_.timeout + settings_.grace;
      why = fmt::format("the shutdown timeout of {} expired", seconds(settings_.timeout));
    }
    if (count > seen && count >= 2 && (!deadline || now + settings_.grace < *deadline)) {
      deadline = now + settings_.grace;
      why = fmt::format("second {}", signalName(state.lastSignal.load()));
    }
    seen = count;
    if (deadline && now >= *deadline) force(why);
  }
}

void ShutdownBackstop::force(const std::string& why) {
  writeLogLine(fmt::format("Shutdown forced ({}) from outside the event loop: it had not finished the exit {} "
                           "later (a service is blocking it); exiting without stopping the services.",
                           why, seconds(settings_.grace)));
  removePidFile();
  ::_exit(exitCodeFor(ErrorKind::software));
}

// Straight to the descriptor, not through cppd::log: the blocked thread may hold the log's lock. The log file's
// own lock is taken for its descriptor (rotation may replace it); only a log write that itself blocks holds it.
// The lines the blocked loop iteration logged are still held back: they go first, without any lock.
void ShutdownBackstop::writeLogLine(const std::string& text) {
  LineBuffer::drainAll();
  if (!settings_.logFile && settings_.syslog) {
    ::syslog(LOG_ERR, "[-] %s", text.c_str());
    return;
  }
  std::string line;
  formatLine(settings_.logFormat, LogEvent{std::chrono::system_clock::now(), LogLevel::error, "-", text}, line);
  writeAllTo(settings_.logFile ? settings_.logFile->fd() : STDOUT_FILENO, line);
}

// PidFile::remove's rule: unlink the name only while it still refers to the file we hold, else truncate it.
void ShutdownBackstop::removePidFile() {
  if (pidFd_ < 0) return;
  struct stat ours {}, named {};
  const bool stillOurs = ::fstat(pidFd_, &ours) == 0 &&
                         ::fstatat(pidDirFd_, pidBase_.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
                         ours.st_ino == named.st_ino && ours.st_dev == named.st_dev;
  if (stillOurs && ::unlinkat(pidDirFd_, pidBase_.c_str(), 0) != 0) (void)::ftruncate(pidFd_, 0);
}

}  // namespace cppd::runner
