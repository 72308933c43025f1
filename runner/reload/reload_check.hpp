#pragma once

// A reload's first step: the cppd binary as installed now runs `--check` with the daemon's command line, in the
// directory the daemon was started from, so a missing or broken binary, a deployment file with an error, a plugin
// that no longer loads or a service that cannot be made stops the reload before anything changes.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace cppd::runner {

struct ReloadCheck {
  pid_t pid = -1;             // the check's process, once started
  std::optional<int> status;  // its wait status, when this side collected it
  std::string output;         // what it wrote (stdout and stderr), at most a few KiB
  std::string failure;        // why it could not run or was stopped; empty otherwise

  /// Runs binary --check args... in dir and waits for it up to timeout (then kills it). Never throws. Blocks: for
  /// a thread-pool thread. A SIGCHLD reaper elsewhere may collect the process first: status is then unset and
  /// the caller supplies it to verdict().
  static ReloadCheck run(const std::string& binary, const std::vector<std::string>& args, const std::string& dir,
                         std::chrono::milliseconds timeout);

  /// "" when the check passed, else why not (its first output line and its exit status).
  std::string verdict(std::optional<int> collectedElsewhere) const;
};

}  // namespace cppd::runner
