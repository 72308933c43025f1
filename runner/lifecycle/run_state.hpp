#pragma once

// What a run holds (pidfile, log, status pipe) and the start-up steps that fill it or depend only on the options:
// opening the log, entering the chroot and run directory, the user to run as, and undoing a failed start.

#include <memory>

#include <cppd/application.hpp>
#include <cppd/log.hpp>
#include <cppd/reactor.hpp>

#include "logging/log_file.hpp"
#include "options/server_options.hpp"
#include "process/daemonize.hpp"
#include "process/pid_file.hpp"
#include "process/privileges.hpp"
#include "process/process_primitives.hpp"

namespace cppd::runner {

// Everything a run holds, released in reverse order of acquisition.
struct RunState {
  std::unique_ptr<PidFile> pidFile;
  std::shared_ptr<ILogObserver> observer;
  std::shared_ptr<LogFile> logFile;  // when logging to a file
  StatusReporter status;
  bool privilegedStarted = false;
  bool startAttempted = false;
};

/// Opens the log the options name (file, stdout or syslog) and attaches it; a log file is created for target's
/// user. Throws cppd::Error (cantCreate) naming the file.
void openLog(const ServerOptions& o, const PrivilegeTarget& target, RunState& state);

/// --chroot, then --rundir. Throws cppd::Error naming the operation and the directory.
void enterEnvironment(const ServerOptions& o, IProcessPrimitives& os);

/// The user to run as: --uid and --gid, resolved once when the options were parsed.
PrivilegeTarget privilegeTarget(const ServerOptions& o);

/// Stops what a failed start left running. MultiService already rolls back a failed startService; this covers a
/// failure after privilegedStartService (ports bound) but before or after a complete startService.
void rollBack(Application& app, RunState& state, Reactor& reactor);

}  // namespace cppd::runner
