#include "lifecycle/run.hpp"

#include <cppd/endpoint.hpp>
#include <cppd/error.hpp>
#include <cppd/log.hpp>

namespace cppd::runner {

void Run::openControl(const PrivilegeTarget& target, Reactor& loop) {
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

void Run::openMetrics(const PrivilegeTarget& target, Reactor& loop) {
  if (!o_.metrics) return;
  if (!controlled_) makeControlled("");
  metrics_ = std::make_unique<MetricsServer>(loop, *controlled_,
                                             MetricsSettings{.endpoint = Endpoint::parse(*o_.metrics),
                                                             .owner = target.uid,
                                                             .group = target.gid});
}

void Run::makeControlled(const std::string& controlPath) {
  DaemonFacts facts;
  facts.pid = os_.getpid();
  facts.logFile = o_.syslog ? std::string("syslog") : o_.effectiveLogfile();
  facts.pidFile = o_.pidfile;
  facts.controlSocket = controlPath;
  facts.startTime = startTime_;
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
    actions.reload = [this](bool checkOnly) { return reload(checkOnly); };
    actions.reloadFacts = [this](DaemonFacts& shown) {
      if (!supervisor_) return;
      const Supervisor::ReloadFacts reload = supervisor_->reloadFacts();
      shown.generation = reload.generation;
      shown.reloads = reload.reloads;
      shown.failedReloads = reload.failed;
      shown.reloading = reload.inProgress || reload.queued;
      shown.lastReload = reload.last;
    };
  }
  actions.ready = [this] {
    if (o_.workers) return supervisor_ != nullptr && supervisor_->ready();
    return serving_ && shutdown_ && !shutdown_->started();
  };
  controlled_ =
      std::make_unique<SingleProcessDaemon>(app_, std::move(facts), plugins_, std::move(actions), startedNs_);
}

Supervisor& Run::startedSupervisor() {
  if (!supervisor_) throw Error(ErrorKind::unavailable, "the supervisor is still starting; try again");
  return *supervisor_;
}

}  // namespace cppd::runner
