#include "lifecycle/run.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <utility>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <cppd/metrics.hpp>
#include <cppd/version.hpp>
#include <cppd/worker.hpp>

#include "reload/reload_exec.hpp"

namespace cppd::runner {

void Run::startReloaded(const PrivilegeTarget& target) {
  Handover& h = *handover_;
  if (h.pidFileFd >= 0 && !o_.pidfile.empty()) {
    state_.pidFile = std::make_unique<PidFile>(o_.pidfile, posix::UniqueFd(std::exchange(h.pidFileFd, -1)));
  }
  if (const auto mask = o_.effectiveUmask()) os_.umask(*mask);
  openLog(o_, target, state_);
  enterEnvironment(o_, os_);
  notifier_ = SystemdNotifier::fromEnvironment();
  SystemdNotifier::forgetEnvironment();
  log::info("cppd {} starting up (reload of PID {}, generation {}: {}).", versionString(), os_.getpid(),
            h.generation + 1, h.why);
  log::info("plugin: {}", summary_);
  target_ = target;
  supervisorLoop_.emplace();
  detail::inheritListeners(std::exchange(h.listeners, {}));
  detail::prepareReloadedWorkers(o_.workers.value_or(1), o_.reusePort, std::exchange(h.metricsFd, -1),
                                 std::exchange(h.totalsFd, -1));
  openControl(target, *supervisorLoop_);
  openMetrics(target, *supervisorLoop_);
  if (!o_.workers) {
    throw Error(ErrorKind::config, "the new configuration runs one process (no --workers): a reload cannot "
                                   "change that; restart instead");
  }
  detail::setDefaultServiceLabel(app_->name());
  state_.privilegedStarted = true;
  app_->privilegedStartService();
  for (const auto& key : detail::closeUnclaimedListeners()) {
    log::info("Listening socket {} is no longer configured: closed once the old workers have stopped", key);
  }
}

int Run::superviseAfterFailedReload(const std::string& reason) {
  failedReload_ = reason.empty() ? "the new image's start failed" : reason;
  if (!supervisorLoop_) supervisorLoop_.emplace();
  return supervise();
}

void Run::addReloadHooks(Supervisor::Hooks& hooks) {
  hooks.checkReload = [this] { return checkReload(o_); };
  hooks.execReload = [this](Handover& h) {
    return execReload(h, o_, state_.pidFile.get(), notifier_, startTime_, startedNs_);
  };
  hooks.reloading = [this](const std::string& text) { notifier_.reloading(text); };
  hooks.reloaded = [this](const std::string& text) { notifier_.ready(text); };
}

int Run::failWorker(WorkerBoard::Slot& slot, int code, const std::string& reason) {
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

int Run::supervise() {
  Supervisor::Settings settings;
  settings.workers = o_.workers.value_or(1);
  settings.workerTimeout = roundedUp(o_.workerTimeout);
  settings.maxRequests = o_.maxRequests;
  settings.maxRequestsJitter = o_.maxRequestsJitter;
  settings.shutdownTimeout = roundedUp(o_.shutdownTimeout);
  settings.reloadTimeout = roundedUp(o_.reloadTimeout);
  Supervisor::Hooks hooks;
  hooks.worker = [this](unsigned id, WorkerBoard::Slot& slot, std::uint64_t limit) { return work(id, slot, limit); };
  hooks.started = [this](Reactor& loop) {
    if (!o_.nodaemon) notifier_.mainPid(os_.getpid());
    state_.status.reportSuccess();
    notifier_.ready(fmt::format("{}, {} workers", summary_, o_.workers.value_or(1)));
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
  addReloadHooks(hooks);
  Supervisor supervisor(*supervisorLoop_, settings, std::move(hooks));
  if (handover_) supervisor.adopt(*handover_, failedReload_);
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

int Run::work(unsigned id, WorkerBoard::Slot& slot, std::uint64_t maxRequests) {
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

std::chrono::milliseconds Run::heartbeatInterval() const {
  if (o_.workerTimeout <= 0) return std::chrono::milliseconds(1000);  // only the accepted count to report
  const auto quarter = roundedUp(o_.workerTimeout) / 4;
  return std::clamp(quarter, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
}

void Run::heartbeat(WorkerBoard::Slot& slot, std::chrono::milliseconds interval) {
  slot.beat(acceptedConnections());
  heartbeat_ = reactor_.callLater(interval, [this, &slot, interval] { heartbeat(slot, interval); });
}

std::string Run::reload(bool checkOnly) {
  Supervisor& supervisor = startedSupervisor();
  if (std::string refusal = reloadRefusal(o_); !refusal.empty()) throw Error(ErrorKind::unavailable, refusal);
  if (!checkOnly) {
    supervisor.requestReload("cppdctl reload");
    return supervisor.reloadFacts().queued ? "queued" : "started";
  }
  // The check alone, here on the loop: it is bounded by --reload-timeout, and the workers serve meanwhile.
  const ReloadCheck check = checkReload(o_);
  if (std::string failure = check.verdict(std::nullopt); !failure.empty()) {
    throw Error(ErrorKind::config, fmt::format("the check failed: {}", failure));
  }
  return check.output;
}

}  // namespace cppd::runner
