#pragma once

// Zombie reaping for cppd as PID 1 of a container or PID namespace (`cppd --nodaemon --logfile -` as the
// entrypoint): orphans are re-parented to PID 1, and only PID 1 can collect them.

#include <cppd/reactor.hpp>

namespace cppd::runner {

class ChildReaper {
 public:
  /// Collects every exited child on each SIGCHLD, as a loop event, and logs what each one ended with.
  explicit ChildReaper(Reactor& reactor);

  /// Collects exited children now; returns how many there were. Never blocks.
  static int reapExited();

 private:
  SignalWatch watch_;
};

}  // namespace cppd::runner
