#pragma once

// What a supervisor hands to the next image of itself when it reloads by exec (the PID, and so the pidfile and
// systemd's MAINPID, stay the same): the listening sockets, the pidfile's locked descriptors, the memory it shares
// with its workers, the workers of the generation now serving (still its children after the exec), and the
// numbers that must not go back (generation, reloads, restarts, the counters of workers already gone).
//
// It travels as text in a memfd whose descriptor the new image finds in CPPD_HANDOVER; every descriptor it names
// crossed the exec without close-on-exec, and the new image sets close-on-exec on each again.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <cppd/worker.hpp>

namespace cppd::runner {

struct Handover {
  struct Worker {
    unsigned id = 0;
    pid_t pid = 0;
    std::size_t slot = 0;
    double startTime = 0;  // seconds since the epoch
  };

  std::uint64_t generation = 1;  // of the workers now serving
  std::uint64_t reloads = 0;     // reloads that succeeded before this one
  std::uint64_t failedReloads = 0;
  double startTime = 0;          // the daemon's first start, seconds since the epoch
  std::int64_t startMonotonicNs = 0;
  std::uint64_t restarts = 0;    // workers restarted after dying, over every generation
  std::string why;               // what asked for the reload ("SIGUSR2", "cppdctl reload")
  bool queued = false;           // another reload was asked for meanwhile: it runs once this one is done
  std::int64_t requestedNs = 0;  // CLOCK_MONOTONIC when it was asked for
  int pidFileFd = -1;  // open and flock'ed: the lock goes with it
  int boardFd = -1;
  int metricsFd = -1;
  int totalsFd = -1;
  std::vector<detail::HandedSocket> listeners;
  std::vector<Worker> workers;

  /// Every descriptor named above.
  std::vector<int> descriptors() const;

  /// The text form. parse() accepts exactly what text() writes; anything else throws cppd::Error (software).
  std::string text() const;
  static Handover parse(std::string_view text);

  /// The handover this image was started with (CPPD_HANDOVER), read once and removed from the environment;
  /// nullopt for an ordinary start. Throws cppd::Error when the variable is set but what it names is not a
  /// handover.
  static std::optional<Handover> fromEnvironment();
};

/// The handover read at start-up by runCommandLine (nullopt: an ordinary start).
std::optional<Handover>& startedWithHandover();

}  // namespace cppd::runner
