#include "process/daemonize.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/core.h>

#include <cppd/error.hpp>

namespace cppd::runner {
namespace {

constexpr std::size_t kMaxReport = 3000;

std::string describeDeath(pid_t pid, int status) {
  if (WIFSIGNALED(status)) {
    return fmt::format("the daemon (PID {}) was killed by signal {} ({}) before reporting its startup", pid,
                       WTERMSIG(status), ::strsignal(WTERMSIG(status)));
  }
  return fmt::format("the daemon (PID {}) exited with status {} before reporting its startup", pid,
                     WEXITSTATUS(status));
}

}  // namespace

StatusReporter::~StatusReporter() {
  if (fd_ >= 0 && os_) os_->close(fd_);
}

StatusReporter::StatusReporter(StatusReporter&& other) noexcept
    : os_(other.os_), fd_(std::exchange(other.fd_, -1)) {}

StatusReporter& StatusReporter::operator=(StatusReporter&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0 && os_) os_->close(fd_);
    os_ = other.os_;
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void StatusReporter::send(const std::string& payload) {
  if (fd_ < 0 || !os_) return;
  std::size_t done = 0;
  while (done < payload.size()) {
    const ssize_t n = os_->write(fd_, payload.data() + done, payload.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the launcher is gone (EPIPE): nobody is left to tell
    done += static_cast<std::size_t>(n);
  }
  os_->close(fd_);
  fd_ = -1;
}

void StatusReporter::reportSuccess() { send("0"); }

void StatusReporter::reportFailure(int exitCode, const std::string& message) {
  send(fmt::format("{} {}", exitCode, message).substr(0, kMaxReport));
}

int decodeStatus(const std::string& payload, std::string& message) {
  if (payload == "0") {
    message.clear();
    return 0;
  }
  const std::size_t space = payload.find(' ');
  const std::string number = payload.substr(0, space);
  char* end = nullptr;
  const long code = space == std::string::npos ? 0 : std::strtol(number.c_str(), &end, 10);
  if (space == std::string::npos || end == number.c_str() || *end != '\0' || code <= 0 || code > 255) {
    message = fmt::format("the daemon sent an unreadable status: '{}'", payload.substr(0, 100));
    return exitCodeFor(ErrorKind::software);
  }
  message = payload.substr(space + 1);
  if (message.empty()) message = "the daemon reported a failure without a reason";
  return static_cast<int>(code);
}

int waitForDaemon(int readFd, pid_t intermediate, IProcessPrimitives& os, std::string& message) {
  std::string payload;
  char buffer[512];
  for (;;) {
    const ssize_t n = os.read(readFd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    payload.append(buffer, static_cast<std::size_t>(n));
  }
  os.close(readFd);
  int status = 0;
  while (os.waitpid(intermediate, &status, 0) < 0 && errno == EINTR) {
  }
  if (!payload.empty()) return decodeStatus(payload, message);
  // EOF and no report: the daemon died (or never got that far). As its subreaper we can wait for it.
  if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
    message = describeDeath(intermediate, status) + " (in the first child)";
    return exitCodeFor(ErrorKind::software);
  }
  // Bounded, so a daemon that closed the pipe but lives on cannot hang the launcher either.
  for (int i = 0; i < 500; ++i) {
    const pid_t pid = os.waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    if (pid == 0) {
      ::usleep(10000);
      continue;
    }
    message = describeDeath(pid, status);
    return WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : exitCodeFor(ErrorKind::software);
  }
  message = "the daemon closed its status pipe without reporting its startup";
  return exitCodeFor(ErrorKind::software);
}

DaemonizeResult daemonize(const std::vector<int>& keepFds, IProcessPrimitives& os, int nullFd) {
  int fds[2];
  if (os.pipe(fds) != 0) throw systemError("daemonize: pipe", "status pipe", errno);
  os.setChildSubreaper();  // best effort: without it the launcher still sees EOF, just not the signal
  const pid_t first = os.fork();
  if (first < 0) {
    const int err = errno;
    os.close(fds[0]);
    os.close(fds[1]);
    throw systemError("daemonize: fork", "first child", err);
  }
  if (first > 0) {  // the launcher
    os.close(fds[1]);  // twistd #7745: keep no write end here, or a silent death would hang us
    if (nullFd >= 0) os.close(nullFd);
    DaemonizeResult result;
    std::string message;
    result.launcherExitCode = waitForDaemon(fds[0], first, os, message);
    if (!message.empty()) std::fprintf(stderr, "cppd: startup failed: %s\n", message.c_str());
    // Like twistd's parent, leave with _exit: destructors here would act on state the daemon shares with us
    // (the event loop's epoll instance, plugin objects holding descriptors, stdio buffers already flushed).
    std::fflush(nullptr);
    os.exit(result.launcherExitCode);
  }
  os.close(fds[0]);
  os.setsid();
  const pid_t second = os.fork();
  if (second != 0) os.exit(second < 0 ? exitCodeFor(ErrorKind::os) : 0);  // the intermediate child
  // Never keep the launcher's stdio: it may be a pipe someone reads to EOF (a shell's $(...), a test).
  const int null = nullFd >= 0 ? nullFd : os.open("/dev/null", O_RDWR);
  if (null < 0) throw systemError("daemonize: open", "/dev/null", errno);
  {
    os.dup2(null, 0);
    os.dup2(null, 1);
    os.dup2(null, 2);
    if (null > 2) os.close(null);
  }
  std::vector<int> keep = keepFds;
  keep.push_back(fds[1]);
  os.closeInheritedFds(keep);
  DaemonizeResult result;
  result.isDaemon = true;
  result.status = StatusReporter(os, fds[1]);
  return result;
}

}  // namespace cppd::runner
