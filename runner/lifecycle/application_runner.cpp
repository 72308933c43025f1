#include "lifecycle/application_runner.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>

#include <fmt/core.h>

#include <cppd/endpoint.hpp>
#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <cppd/metrics.hpp>
#include <cppd/reactor.hpp>
#include <cppd/version.hpp>
#include <cppd/worker.hpp>

#include "control/control_server.hpp"
#include "control/single_process_daemon.hpp"
#include "lifecycle/run_state.hpp"
#include "lifecycle/shutdown.hpp"
#include "lifecycle/shutdown_backstop.hpp"
#include "lifecycle/signals.hpp"
#include "lifecycle/systemd_notifier.hpp"
#include "metrics/metrics_server.hpp"
#include "process/child_reaper.hpp"
#include "process/descriptor_limit.hpp"
#include "process/root_policy.hpp"
#include "workers/supervisor.hpp"

namespace cppd::runner {

ApplicationRunner::ApplicationRunner(const ServerOptions& options, IProcessPrimitives& os)
    : options_(options), os_(os) {}

namespace {

// One run: the steps of the start-up sequence, then serving and shutting down.
class Run {
 public:
  Run(const ServerOptions& o, IProcessPrimitives& os, std::shared_ptr<Application> app,
      std::vector<std::string> firstWorkerOnly, std::vector<PluginFacts> plugins)
      : o_(o),
        os_(os),
        app_(std::move(app)),
        reactor_(globalReactor()),
        firstWorkerOnly_(std::move(firstWorkerOnly)),
        plugins_(std::move(plugins)) {}

  // Everything up to "tell the launcher it worked". Daemonizing, only the daemon comes back from detach().
  void start(const std::string& pluginInfo, const std::vector<std::string>& fileServers) {
    summary_ = pluginInfo.empty() ? app_->name() : pluginInfo;
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

  int failWorker(WorkerBoard::Slot& slot, int code, const std::string& reason) {
    log::error("startup failed: {}", reason);
    slot.fail(code, reason);
    heartbeat_.cancel();
    signals_.reset();
    try {
      rollBack(*app_, state_, reactor_);
    } catch (...) {
      log::error("stopping the services after the failed start failed");
    }
    backstop_.reset();
    log::removeObserver(state_.observer);
    return code;
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
    control_.reset();
    metrics_.reset();
    if (state_.pidFile) state_.pidFile->remove();
    if (state_.status.active()) state_.status.reportFailure(code, reason);
    else std::fprintf(stderr, "cppd: startup failed: %s\n", reason.c_str());
    if (state_.observer) log::removeObserver(state_.observer);
    return code;
  }

  // A multi-process run: the supervisor forks the workers from here and returns when they have all stopped.
  int supervise() {
    Supervisor::Settings settings;
    settings.workers = *o_.workers;
    settings.workerTimeout = roundedUp(o_.workerTimeout);
    settings.maxRequests = o_.maxRequests;
    settings.maxRequestsJitter = o_.maxRequestsJitter;
    settings.shutdownTimeout = roundedUp(o_.shutdownTimeout);
    Supervisor::Hooks hooks;
    hooks.worker = [this](unsigned id, WorkerBoard::Slot& slot, std::uint64_t limit) { return work(id, slot, limit); };
    hooks.started = [this](Reactor& loop) {
      if (!o_.nodaemon) notifier_.mainPid(os_.getpid());
      state_.status.reportSuccess();
      notifier_.ready(fmt::format("{}, {} workers", summary_, *o_.workers));
      watchdogLoop_ = &loop;
      startWatchdog();
    };
    std::shared_ptr<LogFile> logFile = state_.logFile;
    hooks.rotateLog = [logFile] {
      if (logFile) logFile->rotateOrReopen();
    };
    hooks.reopenLog = [logFile] {
      if (logFile) logFile->reopen();
    };
    hooks.rotateLogIfFull = [logFile] {
      if (logFile) logFile->rotateIfFull();
    };
    hooks.status = [this](const std::string& text) { notifier_.status(text); };
    hooks.stopping = [this](const std::string& text) {
      notifier_.stopping(text);
      watchdog_.cancel();
    };
    Supervisor supervisor(*supervisorLoop_, settings, std::move(hooks));
    supervisor_ = &supervisor;
    Supervisor::Outcome outcome = supervisor.run();
    supervisor_ = nullptr;
    watchdog_.cancel();
    if (!outcome.failure.empty()) return fail(outcome.code, outcome.failure);
    if (state_.status.active()) state_.status.reportFailure(exitCodeFor(ErrorKind::unavailable),
                                                            "stopped before every worker served");
    ignoreStopSignals();
    control_.reset();  // before the pidfile: once that is gone, so is the socket
    metrics_.reset();
    reactor_.closeAll();  // the listening sockets: only now, with every worker gone, does their queue close
    if (state_.pidFile) state_.pidFile->remove();
    log::info("Server Shut Down.");
    log::removeObserver(state_.observer);
    return outcome.code;
  }

  // In a forked worker: its own loop and signals, the privilege drop, startService, then serving until stopped.
  int work(unsigned id, WorkerBoard::Slot& slot, std::uint64_t maxRequests) {
    // The control server belongs to the supervisor's loop, whose kernel state this process shares: destroying it
    // here would take its socket out of the supervisor's epoll set. Let go of it without a word.
    static_cast<void>(control_.release());
    static_cast<void>(controlled_.release());
    static_cast<void>(metrics_.release());  // the same: the supervisor's port, on the supervisor's loop
    state_.pidFile.reset();              // the supervisor's: closing this copy leaves its lock alone
    state_.status = StatusReporter();    // the supervisor reports the start
    notifier_ = SystemdNotifier();       // and speaks to systemd
    detail::becomeWorker(id);
    reactor_.afterFork();
    if (state_.logFile) {
      state_.logFile->leaveRotationToSupervisor();
      state_.logFile->reopen();  // the supervisor may have rotated between its fork and our SIGHUP handler
    }
    try {
      // A service pinned to worker 1 leaves the other workers' trees: its port closes there (only this worker's
      // copy: the supervisor keeps the socket) and nothing of it starts.
      if (id != 1) {
        for (const auto& name : firstWorkerOnly_) app_->removeService(*app_->getServiceNamed(name));
      }
      installSignals(true);
      unblockStopSignals();  // the supervisor's fork left them blocked until now
      dropPrivileges(target_, os_);
      state_.startAttempted = true;
      app_->startService();
    } catch (const Error& e) {
      return failWorker(slot, exitCodeFor(e.kind()), e.what());
    } catch (const std::exception& e) {
      return failWorker(slot, exitCodeFor(ErrorKind::software), e.what());
    } catch (...) {
      return failWorker(slot, exitCodeFor(ErrorKind::software), "a service threw an exception not derived from "
                                                                "std::exception");
    }
    if (maxRequests != 0) {
      detail::limitAccepts(maxRequests, [&slot] {
        slot.beat(acceptedConnections());
        slot.retire();
      });
    }
    slot.serving();
    heartbeat(slot, heartbeatInterval());
    const int code = serve();
    backstop_.reset();
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
    control_.reset();  // before the pidfile: once that is gone, so is the socket
    metrics_.reset();
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

  // Rounded up: a timeout below a millisecond is still a timeout, not 0 ("wait for ever").
  static std::chrono::milliseconds roundedUp(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
  }

  // A worker's loop tells the supervisor it is alive (and how many connections it accepted) a few times per
  // --worker-timeout, at most ten times a second and at least once a second.
  std::chrono::milliseconds heartbeatInterval() const {
    if (o_.workerTimeout <= 0) return std::chrono::milliseconds(1000);  // only the accepted count to report
    const auto quarter = roundedUp(o_.workerTimeout) / 4;
    return std::clamp(quarter, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
  }

  void heartbeat(WorkerBoard::Slot& slot, std::chrono::milliseconds interval) {
    slot.beat(acceptedConnections());
    heartbeat_ = reactor_.callLater(interval, [this, &slot, interval] { heartbeat(slot, interval); });
  }

  void installSignals(bool worker = false) {
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

  void openControl(const PrivilegeTarget& target, Reactor& loop) {
    const std::string path = o_.effectiveControl();
    if (path.empty()) return;
    if (!o_.control && path.size() > 107) {
      log::warn("No control socket: the default path {} is too long for a socket; give --control", path);
      return;
    }
    makeControlled(path);
    control_ = std::make_unique<ControlServer>(loop, *controlled_,
                                               ControlSettings{.path = path, .owner = target.uid, .group = target.gid});
  }

  // The metrics endpoint, bound here (as root where needed, like the services' ports) and served by loop.
  void openMetrics(const PrivilegeTarget& target, Reactor& loop) {
    if (!o_.metrics) return;
    if (!controlled_) makeControlled("");
    metrics_ = std::make_unique<MetricsServer>(loop, *controlled_,
                                               MetricsSettings{.endpoint = Endpoint::parse(*o_.metrics),
                                                               .owner = target.uid, .group = target.gid});
  }

  // What the control socket and the metrics endpoint ask about the run.
  void makeControlled(const std::string& controlPath) {
    DaemonFacts facts;
    facts.pid = os_.getpid();
    facts.logFile = o_.syslog ? std::string("syslog") : o_.effectiveLogfile();
    facts.pidFile = o_.pidfile;
    facts.controlSocket = controlPath;
    SingleProcessDaemon::Actions actions;
    actions.stop = [this] {
      if (supervisor_) {
        supervisor_->requestStop("Stop requested on the control socket, shutting down.");
        return;
      }
      notifier_.stopping("Stop requested on the control socket, shutting down.");
      watchdog_.cancel();
      shutdown_->begin();
    };
    actions.reopen = [this, logFile = state_.logFile] {
      if (supervisor_) supervisor_->requestReopen();
      else if (logFile) logFile->reopen();
    };
    if (o_.workers) {
      actions.workers = [this] { return supervisor_ ? supervisor_->workerFacts() : std::vector<WorkerFacts>(); };
      actions.changeWorkers = [this](int delta) {
        return startedSupervisor().changeWorkers(delta, delta > 0 ? "cppdctl workers add" : "cppdctl workers remove");
      };
      actions.replaceWorker = [this](unsigned id) { return startedSupervisor().replaceWorker(id, "cppdctl worker kill"); };
      actions.restarts = [this] { return supervisor_ ? supervisor_->restarts() : 0; };
    }
    actions.ready = [this] {
      if (o_.workers) return supervisor_ != nullptr && supervisor_->ready();
      return serving_ && shutdown_ && !shutdown_->started();
    };
    controlled_ = std::make_unique<SingleProcessDaemon>(app_, std::move(facts), plugins_, std::move(actions));
  }

  Supervisor& startedSupervisor() {
    if (!supervisor_) throw Error(ErrorKind::unavailable, "the supervisor is still starting; try again");
    return *supervisor_;
  }

  // WATCHDOG=1 every half WATCHDOG_USEC, when the service manager asked for it.
  void startWatchdog() {
    const auto interval = notifier_.watchdogInterval();
    if (!interval) return;
    notifier_.watchdog();
    watchdog_ = watchdogLoop_->callLater(std::chrono::duration_cast<std::chrono::milliseconds>(*interval),
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
  Reactor* watchdogLoop_ = &reactor_;  // the supervisor's own loop in a multi-process run
  DelayedCall heartbeat_;
  PrivilegeTarget target_;
  std::string summary_;
  std::vector<std::string> firstWorkerOnly_;
  int nullFd_ = -1;
  bool serving_ = false;  // the single process started every service
  std::vector<PluginFacts> plugins_;
  std::unique_ptr<SingleProcessDaemon> controlled_;
  std::unique_ptr<ControlServer> control_;  // after controlled_: it calls into it
  std::unique_ptr<MetricsServer> metrics_;   // the same
  std::optional<Reactor> supervisorLoop_;   // a multi-process run's supervisor: its signals, timers and control
  Supervisor* supervisor_ = nullptr;        // while it runs
};

}  // namespace

int ApplicationRunner::run(std::shared_ptr<Application> app, const std::string& pluginInfo,
                           const std::vector<std::string>& fileServers, const std::vector<std::string>& firstWorkerOnly) {
  Run run(options_, os_, std::move(app), firstWorkerOnly, plugins_);
  try {
    run.start(pluginInfo, fileServers);
  } catch (const Error& e) {
    return run.fail(exitCodeFor(e.kind()), e.what());
  } catch (const std::exception& e) {
    return run.fail(exitCodeFor(ErrorKind::software), e.what());
  } catch (...) {
    return run.fail(exitCodeFor(ErrorKind::software), "a service threw an exception not derived from std::exception");
  }
  return options_.workers ? run.supervise() : run.serve();
}

}  // namespace cppd::runner
