#pragma once

// What this process was started as: the command line, the binary's path and the directory it was started from.
// A reload runs the binary at that path as it is now (so a package upgrade takes effect) with the same command
// line, from the same directory (relative paths on the command line mean what they meant at the start).

#include <string>
#include <vector>

#include "reload/handover.hpp"

namespace cppd::runner {

class ProcessImage {
 public:
  /// Records argv, /proc/self/exe and the working directory. Call first thing in main (before any chdir).
  static void remember(int argc, char** argv);
  static const ProcessImage& current();

  const std::string& binary() const noexcept { return binary_; }
  const std::string& launchDir() const noexcept { return launchDir_; }
  /// The arguments after the program name.
  const std::vector<std::string>& args() const noexcept { return args_; }

  /// Replaces this process's image with binary() and the same arguments, run from launchDir(), the handover's
  /// descriptors kept open and its text in CPPD_HANDOVER, plus environment ("NAME=value", replacing any of that
  /// name). SIGTERM, SIGINT, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2 and SIGHUP are blocked across the exec, so one
  /// sent meanwhile waits for the new image's handlers. Returns only when it failed, with why; the process is then
  /// as it was (descriptors close-on-exec again, the same directory, the same signal mask).
  std::string exec(const Handover& handover, const std::vector<std::string>& environment) const;

 private:
  std::vector<std::string> args_;
  std::string argv0_;
  std::string binary_;
  std::string launchDir_;
};

}  // namespace cppd::runner
