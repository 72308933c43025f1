#pragma once

// The classic double fork with a status pipe (twistd's daemonize/_waitForStart), without twistd's #7745 hang:
// the launcher closes its own write end, so a daemon that dies without reporting gives EOF, and the launcher
// reports how it died.

#include <string>
#include <vector>

#include "process/process_primitives.hpp"

namespace cppd::runner {

/// The daemon's end of the status pipe. Exactly one report is sent; the pipe is closed after it, which ends the
/// launcher's wait. Destroying an unreported pipe just closes it (the launcher then sees EOF: "died").
class StatusReporter {
 public:
  StatusReporter() = default;  // foreground: reports go nowhere
  StatusReporter(IProcessPrimitives& os, int fd) : os_(&os), fd_(fd) {}
  ~StatusReporter();
  StatusReporter(StatusReporter&& other) noexcept;
  StatusReporter& operator=(StatusReporter&& other) noexcept;

  /// Startup worked: sends "0".
  void reportSuccess();
  /// Startup failed: sends "<exitCode> <message>" (cut to 3000 bytes, so it fits one atomic pipe write).
  void reportFailure(int exitCode, const std::string& message);
  bool active() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }

 private:
  void send(const std::string& payload);
  IProcessPrimitives* os_ = nullptr;
  int fd_ = -1;
};

/// Where the calling process stands after daemonize().
struct DaemonizeResult {
  bool isDaemon = false;        // false: this is the launcher, which must return launcherExitCode
  int launcherExitCode = 0;     // launcher only: 0, or the daemon's failure code
  StatusReporter status;        // daemon only
};

/// Double-forks. Only the daemon returns (isDaemon true, with its StatusReporter): it has setsid, stdio on
/// /dev/null and every inherited descriptor closed except keepFds and the pipe. The intermediate child _exits
/// at once. The launcher waits for the daemon's report, prints "cppd: startup failed: <reason>" on stderr for
/// a failure, and _exits with the daemon's code (0 on success) without running destructors, which would act on
/// state shared with the daemon; with a fake os whose exit() returns by throwing, tests see the launcher path.
/// Throws cppd::Error (os) if the pipe or the first fork fails (nothing has forked then).
/// nullFd, when given, is an already open /dev/null to put on stdio (the runner opens it before a chroot, inside
/// which /dev/null usually does not exist); daemonize takes it over. Otherwise /dev/null is opened here.
DaemonizeResult daemonize(const std::vector<int>& keepFds, IProcessPrimitives& os = systemPrimitives(),
                          int nullFd = -1);

/// The launcher's side, separated for tests: reads the report from readFd until EOF, reaps the intermediate
/// child and, when the daemon died without reporting, waits for it (the launcher is its subreaper) to name
/// the signal or exit status. Returns the exit code and writes the message (without "cppd: ") into message;
/// an empty message means success.
int waitForDaemon(int readFd, pid_t intermediate, IProcessPrimitives& os, std::string& message);

/// Decodes a report: "0" -> 0; "<code> <message>" -> code and message; anything else -> 70 and a description.
int decodeStatus(const std::string& payload, std::string& message);

}  // namespace cppd::runner
