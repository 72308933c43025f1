#include "lifecycle/application_runner.hpp"

#include <fcntl.h>
#include <syslog.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <cppd/reactor.hpp>
#include <cppd/version.hpp>

#include "process/child_reaper.hpp"
#include "process/daemonize.hpp"
#include "process/descriptor_limit.hpp"
#include "logging/fatal_signal_flush.hpp"
#include "logging/log_file.hpp"
#include "process/pid_file.hpp"
#include "process/privileges.hpp"
#include "process/root_policy.hpp"
#include "lifecycle/shutdown.hpp"
#include "lifecycle/shutdown_backstop.hpp"
#include "lifecycle/signals.hpp"
#include "logging/syslog_observer.hpp"
#include "lifecycle/systemd_notifier.hpp"

namespace cppd::runner {
namespace {

// Everything a run holds, released in reverse order of acquisition.
struct RunState {
  std::unique_ptr<PidFile> pidFile;
  std::shared_ptr<ILogObserver> observer;
  std::shared_ptr<LogFile> logFile;  // when logging to a file
  StatusReporter status;
  bool privilegedStarted = false;
  bool startAttempted = false;
};

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

// The user to run as: --uid and --gid, resolved once when the options were parsed.
PrivilegeTarget privilegeTarget(const ServerOptions& o) {
  PrivilegeTarget target;
  target.effectiveOnly = o.euid;
  target.uid = o.uid;
  target.gid = o.gid;  // the user's primary group unless --gid was given
  target.userName = o.userName;
  return target;
}

// Stops what a failed start left running. MultiService already rolls back a failed startService; this covers a
// failure after privilegedStartService (ports bound) but before or after a complete startService.
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

}  // namespace

ApplicationRunner::ApplicationRunner(const ServerOptions& options, IProcessPrimitives& os)
    : options_(options), os_(os) {}

namespace {

// One run: the steps of the start-up sequence, then serving and shutting down.
class Run {
 public:
  Run(const ServerOptions& o, IProcessPrimitives& os, std::shared_ptr<Application> app)
      : o_(o), os_(os), app_(std::move(app)), reactor_(globalReactor()) {}

  // Everything up to "tell the launcher it worked". Daemonizing, only the daemon comes back from detach().
  void start(const std::string& pluginInfo, const std::vector<std::string>& fileServers) {
    const PrivilegeTarget target = privilegeTarget(o_);  // before chroot: the databases are outside
    refuseRootFileServers(o_, target, fileServers, os_);  // before the pidfile: nothing to undo
    ignoreLogSignalsUntilHandled();  // before the pidfile exists, so nobody can signal too early
    ignoreBrokenPipes();
    // Daemonizing, the file stays empty until the daemon writes its own PID: never the launcher's.
    if (!o_.pidfile.empty()) state_.pidFile = std::make_unique<PidFile>(o_.pidfile, o_.nodaemon);
    if (const auto mask = o_.effectiveUmask()) os_.umask(*mask);
    openLog(o_, target, state_);  // before chroot and fork: the path is the user's, errors reach the shell
    if (!o_.nodaemon) {
      // The daemon's stdio goes to /dev/null, which a chroot rarely has: open it while it is still reachable.
      nullFd_ = os_.open("/dev/null", O_RDWR);
      if (nullFd_ < 0) throw systemError("open", "/dev/null", errno);
    }
    enterEnvironment(o_, os_);
    if (!o_.nodaemon) detach();
    notifier_ = SystemdNotifier::fromEnvironment();  // after the fork: the watchdog is meant for the daemon's PID
    log::info("cppd {} starting up.", versionString());
    log::info("reactor class: {}.", reactor_.backendName());
    log::info("plugin: {}", pluginInfo.empty() ? app_->name() : pluginInfo);
    raiseDescriptorLimit();  // before the services open ports and files: every connection needs one
    warnIfServingAsRoot(target, os_);
    installSignals();
    state_.privilegedStarted = true;
    app_->privilegedStartService();
    dropPrivileges(target, os_);
    if (state_.logFile) state_.logFile->checkRotatable();
    state_.startAttempted = true;
    app_->startService();
    if (!o_.nodaemon) notifier_.mainPid(os_.getpid());  // before the launcher exits
    state_.status.reportSuccess();
    notifier_.ready(fmt::format("{} running", pluginInfo.empty() ? app_->name() : pluginInfo));
    startWatchdog();
  }

  int fail(int code, const std::string& reason) {
    log::error("startup failed: {}", reason);
    notifier_.status(fmt::format("startup failed: {}", reason));
    watchdog_.cancel();
    signals_.reset();
    reaper_.reset();
    try {
      rollBack(*app_, state_, reactor_);
    } catch (const std::exception& e) {
      log::error("stopping the services after the failed start: {}", e.what());
    } catch (...) {
      log::error("stopping the services after the failed start: an exception not derived from std::exception");
    }
    if (nullFd_ >= 0) os_.close(nullFd_);
    if (state_.pidFile) state_.pidFile->remove();
    if (state_.status.active()) state_.status.reportFailure(code, reason);
    else std::fprintf(stderr, "cppd: startup failed: %s\n", reason.c_str());
    if (state_.observer) log::removeObserver(state_.observer);
    return code;
  }

  int serve() {
    reactor_.run();
    log::info("Main loop terminated.");
    watchdog_.cancel();
    signals_.reset();
    // The stop is under way: a late duplicate SIGTERM/SIGINT (a supervisor repeating itself) must not turn this
    // clean exit into death by signal now that the handlers are gone.
    ignoreStopSignals();
    reaper_.reset();
    // twistd's disconnectAll: connections a forced stop left behind end now, while the services they call into
    // are still alive, never later from static destructors.
    reactor_.closeAll();
    if (state_.pidFile) state_.pidFile->remove();
    log::info("Server Shut Down.");
    log::removeObserver(state_.observer);
    return shutdown_->forced() ? exitCodeFor(ErrorKind::software) : 0;
  }

 private:
  void detach() {
    std::vector<int> keep;
    keep.reserve(4);
    if (state_.pidFile) {
      keep.push_back(state_.pidFile->fd());
      keep.push_back(state_.pidFile->dirFd());
    }
    if (state_.logFile) {
      keep.push_back(state_.logFile->fd());
      keep.push_back(state_.logFile->dirFd());
    }
    DaemonizeResult daemon = daemonize(keep, os_, nullFd_);
    nullFd_ = -1;  // daemonize took it over
    state_.status = std::move(daemon.status);
    reactor_.afterFork();  // the daemon's loop must not share its epoll instance with the launcher
    if (state_.pidFile) state_.pidFile->writePid(os_.getpid());  // before the launcher hears "0"
  }

  void installSignals() {
    // Rounded up: a timeout below a millisecond is still a timeout, not 0 ("wait for ever").
    const std::chrono::milliseconds shutdownTimeout(static_cast<long long>(std::ceil(o_.shutdownTimeout * 1000)));
    shutdown_.emplace(reactor_, app_, shutdownTimeout);
    std::shared_ptr<LogFile> logFile = state_.logFile;  // SIGUSR1/SIGHUP are no-ops for stdout and syslog
    SignalHandlers::Actions actions;
    actions.shutdown = [this](int signum) {
      notifier_.stopping(fmt::format("Received {}, shutting down.", signalName(signum)));
      watchdog_.cancel();
      shutdown_->begin();
    };
    actions.force = [this](int signum) { shutdown_->force(fmt::format("second {}", signalName(signum))); };
    actions.rotate = [logFile] {
      if (logFile) logFile->rotateOrReopen();
    };
    actions.reopen = [logFile] {
      if (logFile) logFile->reopen();
    };
    signals_.emplace(reactor_, std::move(actions));
    // After the reactor's handlers exist: the backstop chains in front of them, for a loop that never comes back.
    ShutdownBackstop::Settings backstop;
    backstop.timeout = shutdownTimeout;
    backstop.logFile = state_.logFile;
    backstop.syslog = o_.syslog;
    backstop.logFormat = o_.logFormat;
    backstop.pidFile = state_.pidFile.get();
    backstop_.emplace(std::move(backstop));
    // As PID 1 (a container's entrypoint) orphans become our children: collect them so none stays a zombie.
    if (os_.getpid() == 1) reaper_.emplace(reactor_);
  }

  // WATCHDOG=1 every half WATCHDOG_USEC, when the service manager asked for it.
  void startWatchdog() {
    const auto interval = notifier_.watchdogInterval();
    if (!interval) return;
    notifier_.watchdog();
    watchdog_ = reactor_.callLater(std::chrono::duration_cast<std::chrono::milliseconds>(*interval),
                                   [this] { startWatchdog(); });
  }

  const ServerOptions& o_;
  IProcessPrimitives& os_;
  std::shared_ptr<Application> app_;
  Reactor& reactor_;
  RunState state_;
  std::optional<Shutdown> shutdown_;
  std::optional<SignalHandlers> signals_;
  std::optional<ShutdownBackstop> backstop_;  // after state_: it refers to the pidfile and the log file
  std::optional<ChildReaper> reaper_;
  SystemdNotifier notifier_;
  DelayedCall watchdog_;
  int nullFd_ = -1;
};

}  // namespace

int ApplicationRunner::run(std::shared_ptr<Application> app, const std::string& pluginInfo,
                           const std::vector<std::string>& fileServers) {
  Run run(options_, os_, std::move(app));
  try {
    run.start(pluginInfo, fileServers);
  } catch (const Error& e) {
    return run.fail(exitCodeFor(e.kind()), e.what());
  } catch (const std::exception& e) {
    return run.fail(exitCodeFor(ErrorKind::software), e.what());
  } catch (...) {
    return run.fail(exitCodeFor(ErrorKind::software), "a service threw an exception not derived from std::exception");
  }
  return run.serve();
}

}  // namespace cppd::runner
