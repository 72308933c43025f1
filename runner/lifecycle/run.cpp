#include "lifecycle/run.hpp"

#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <utility>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <cppd/metrics.hpp>
#include <cppd/version.hpp>
#include <cppd/worker.hpp>

#include "process/descriptor_limit.hpp"
#include "process/root_policy.hpp"

namespace cppd::runner {

Run::Run(const ServerOptions& o, IProcessPrimitives& os, std::shared_ptr<Application> app,
         std::vector<std::string> firstWorkerOnly, std::vector<PluginFacts> plugins)
    : o_(o),
      os_(os),
      app_(std::move(app)),
      reactor_(globalReactor()),
      firstWorkerOnly_(std::move(firstWorkerOnly)),
      plugins_(std::move(plugins)),
      handover_(startedWithHandover() ? &*startedWithHandover() : nullptr) {}

void Run::start(const std::string& pluginInfo, const std::vector<std::string>& fileServers) {
  summary_ = pluginInfo.empty() ? app_->name() : pluginInfo;
  startTime_ = handover_ ? handover_->startTime
                         : std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  startedNs_ = handover_ ? handover_->startMonotonicNs
                         : std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch()).count();
  const PrivilegeTarget target = privilegeTarget(o_);  // before chroot: the databases are outside
  refuseRootFileServers(o_, target, fileServers, os_);  // before the pidfile: nothing to undo
  if (!handover_) unblockInheritedSignals();  // a reload's image keeps the ones held across its exec
  ignoreLogSignalsUntilHandled();  // before the pidfile exists, so nobody can signal too early
  ignoreBrokenPipes();
  if (handover_) return startReloaded(target);
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
  if (o_.workers) holdSupervisorSignals();  // released once the supervisor's handlers exist (Supervisor::run)
  notifier_ = SystemdNotifier::fromEnvironment();  // after the fork: the watchdog is meant for the daemon's PID
  log::info("cppd {} starting up.", versionString());
  log::info("reactor class: {}.", reactor_.backendName());
  log::info("plugin: {}", summary_);
  raiseDescriptorLimit();  // before the services open ports and files: every connection needs one
  detail::setDefaultServiceLabel(app_->name());  // a single plugin's ports: the name cppdctl services shows
  warnIfServingAsRoot(target, os_);
  target_ = target;
  if (o_.workers) {
    // The supervisor binds (as root where needed) and keeps the sockets; each worker does the rest (work()).
    // Its control socket is served by its own loop, which the workers never run.
    supervisorLoop_.emplace();
    openControl(target, *supervisorLoop_);
    openMetrics(target, *supervisorLoop_);  // the supervisor's too: it outlives the workers
    detail::prepareWorkers(*o_.workers, o_.reusePort);
    state_.privilegedStarted = true;
    app_->privilegedStartService();
    return;
  }
  installSignals();
  openControl(target, reactor_);  // as root, before the ports: a live socket means another daemon, nothing bound yet
  openMetrics(target, reactor_);
  state_.privilegedStarted = true;
  app_->privilegedStartService();
  dropPrivileges(target, os_);
  if (state_.logFile) state_.logFile->checkRotatable();
  state_.startAttempted = true;
  app_->startService();
  if (!o_.nodaemon) notifier_.mainPid(os_.getpid());  // before the launcher exits
  state_.status.reportSuccess();
  notifier_.ready(fmt::format("{} running", summary_));
  serving_ = true;
  startWatchdog();
}

int Run::fail(int code, const std::string& reason) {
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
  control_.reset();
  metrics_.reset();
  if (state_.pidFile) state_.pidFile->remove();
  if (state_.status.active()) state_.status.reportFailure(code, reason);
  else std::fprintf(stderr, "cppd: startup failed: %s\n", reason.c_str());
  if (state_.observer) log::removeObserver(state_.observer);
  return code;
}

int Run::serve() {
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
  control_.reset();  // before the pidfile: once that is gone, so is the socket
  metrics_.reset();
  if (state_.pidFile) state_.pidFile->remove();
  log::info("Server Shut Down.");
  log::removeObserver(state_.observer);
  return shutdown_->forced() ? exitCodeFor(ErrorKind::software) : 0;
}

void Run::detach() {
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

std::chrono::milliseconds Run::roundedUp(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
}

void Run::installSignals(bool worker) {
  const std::chrono::milliseconds shutdownTimeout = roundedUp(o_.shutdownTimeout);
  shutdown_.emplace(reactor_, app_, shutdownTimeout);
  std::shared_ptr<LogFile> logFile = state_.logFile;  // SIGUSR1/SIGHUP are no-ops for stdout and syslog
  SignalHandlers::Actions actions;
  actions.shutdown = [this](int signum) {
    notifier_.stopping(fmt::format("Received {}, shutting down.", signalName(signum)));
    watchdog_.cancel();
    heartbeat_.cancel();  // a draining worker is not stuck: the supervisor waits for it to exit
    shutdown_->begin();
  };
  actions.force = [this](int signum) { shutdown_->force(fmt::format("second {}", signalName(signum))); };
  actions.rotate = [logFile, worker] {
    if (!logFile) return;
    if (worker) logFile->reopen();  // the supervisor rotates; a worker follows the path
    else logFile->rotateOrReopen();
  };
  actions.reopen = [logFile] {
    if (logFile) logFile->reopen();
  };
  if (!worker) {
    actions.reload = [] {
      log::warn("Received SIGUSR2: a reload needs --workers N (a supervisor keeps the listening sockets while a "
                "new generation of workers starts); this daemon runs in one process: restart it instead");
    };
  }
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

void Run::startWatchdog() {
  const auto interval = notifier_.watchdogInterval();
  if (!interval) return;
  notifier_.watchdog();
  watchdog_ = watchdogLoop_->callLater(std::chrono::duration_cast<std::chrono::milliseconds>(*interval),
                                 [this] { startWatchdog(); });
}

}  // namespace cppd::runner
