#include "lifecycle/run_state.hpp"

#include <syslog.h>

#include <cerrno>
#include <chrono>

#include <cppd/error.hpp>

#include "lifecycle/shutdown.hpp"
#include "logging/fatal_signal_flush.hpp"
#include "logging/syslog_observer.hpp"

namespace cppd::runner {

void openLog(const ServerOptions& o, const PrivilegeTarget& target, RunState& state) {
  if (o.syslog) {
    state.observer = std::make_shared<SyslogObserver>(o.prefix);
  } else if (o.effectiveLogfile() == "-") {
    state.observer = std::make_shared<StdoutObserver>(o.logFormat);
  } else {
    LogFileOptions lo;
    lo.path = o.effectiveLogfile();
    lo.maxSize = o.logfileMaxSize;
    lo.keep = o.logfileKeep;
    lo.owner = target.uid;  // created (or chowned) for the user the service will run as
    lo.group = target.gid;
    lo.format = o.logFormat;
    if (!o.nodaemon) {
      // A daemon's stderr is /dev/null: problems with the log itself (a full disk) go to syslog instead.
      lo.reportError = [ident = o.prefix](std::string_view message) {
        ::openlog(ident.c_str(), LOG_PID, LOG_DAEMON);
        ::syslog(LOG_ERR, "%.*s", static_cast<int>(message.size()), message.data());
      };
    }
    state.logFile = std::make_shared<LogFile>(std::move(lo));
    state.observer = state.logFile;
  }
  log::addObserver(state.observer);  // replays what was logged before (a stale pidfile, plugin loading)
  installFatalSignalFlush();  // a crashing plugin must not take the lines it logged last with it
}

void enterEnvironment(const ServerOptions& o, IProcessPrimitives& os) {
  if (o.chroot && os.chroot(o.chroot->c_str()) != 0) throw systemError("chroot", *o.chroot, errno);
  if (os.chdir(o.rundir.c_str()) != 0) throw systemError("chdir", o.rundir, errno);
}

PrivilegeTarget privilegeTarget(const ServerOptions& o) {
  PrivilegeTarget target;
  target.effectiveOnly = o.euid;
  target.uid = o.uid;
  target.gid = o.gid;  // the user's primary group unless --gid was given
  target.userName = o.userName;
  return target;
}

void rollBack(Application& app, RunState& state, Reactor& reactor) {
  if (!state.privilegedStarted) return;
  const bool rolledBackByTree = state.startAttempted && !app.running();
  if (!rolledBackByTree) {
    Shutdown shutdown(reactor, app.shared_from_this(), std::chrono::seconds(5));
    shutdown.begin();
    if (!shutdown.forced() && !shutdown.pending().empty()) reactor.run();
    reactor.closeAll();  // while the services still exist: nothing may call into them later
    return;
  }
  reactor.closeAll();
}

}  // namespace cppd::runner
