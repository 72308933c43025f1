#pragma once

// The runner's side of a reload (the supervisor's is workers/supervisor_reload.cpp): what the check runs, and
// what the exec hands over besides the workers (the pidfile's lock, the listening sockets, the shared metrics,
// systemd's socket).

#include <string>

#include "lifecycle/systemd_notifier.hpp"
#include "options/server_options.hpp"
#include "process/pid_file.hpp"
#include "reload/handover.hpp"
#include "reload/reload_check.hpp"

namespace cppd::runner {

/// Why this run cannot reload at all ("" when it can): --chroot (the binary and its plugins are outside), a
/// command line that is not known.
std::string reloadRefusal(const ServerOptions& o);

/// Runs the cppd binary as installed now with --check and this process's command line (blocking; a thread-pool
/// thread's).
ReloadCheck checkReload(const ServerOptions& o);

/// Completes handover (the pidfile, every listening socket, the metrics) and execs the new image. Returns only
/// when that failed, with why; nothing has changed then.
std::string execReload(Handover& handover, const ServerOptions& o, const PidFile* pidFile,
                       const SystemdNotifier& notifier, double startTime, std::int64_t startedNs);

}  // namespace cppd::runner
