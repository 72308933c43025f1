#include "workers/supervisor.hpp"

// The supervisor's changes of worker count asked from outside: SIGTTIN/SIGTTOU and cppdctl's `workers add|remove`
// and `worker kill`.

#include <csignal>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>

#include "workers/worker_count.hpp"

namespace cppd::runner {

void Supervisor::scale(int delta, const char* why) {
  try {
    changeWorkers(delta, why);
  } catch (const Error& e) {
    log::info("workers: {} ({} ignored: {})", target_, why, e.what());
  }
}

// Worker changes wait for a reload to end; after a failed one only another reload brings new workers.
void Supervisor::refuseWhileReloading() const {
  if (stopping_) throw Error(ErrorKind::unavailable, "the daemon is stopping");
  if (reloadPhase_ != ReloadPhase::idle) throw Error(ErrorKind::unavailable, "a reload is under way; try again");
  if (degraded_) {
    throw Error(ErrorKind::unavailable, fmt::format("the last reload failed and generation {} serves as it was; "
                                                    "reload again", generation_));
  }
}

unsigned Supervisor::changeWorkers(int delta, const std::string& why) {
  refuseWhileReloading();
  const long long wanted = static_cast<long long>(target_) + delta;
  if (wanted < 1) {
    throw Error(ErrorKind::usage, fmt::format("cannot remove {} of {} workers: at least one must remain", -delta,
                                              target_));
  }
  if (wanted > static_cast<long long>(kMaxWorkers)) {
    throw Error(ErrorKind::usage, fmt::format("cannot add {} to {} workers: {} is the limit", delta, target_,
                                              kMaxWorkers));
  }
  const unsigned before = target_;
  for (int k = 0; k < delta; ++k) addOne();
  for (int k = 0; k > delta; --k) removeOne();
  if (before != target_) {
    log::info("workers: {} -> {} ({})", before, target_, why);
    if (hooks_.status) hooks_.status(fmt::format("{} workers", target_));
  }
  return target_;
}

void Supervisor::addOne() {
  ++target_;
  spawn(target_);
}

// The highest id goes, so the ids in use stay 1..target.
void Supervisor::removeOne() {
  for (Worker& w : workers_) {
    if (w.id == target_ && !w.removed) {
      w.removed = true;
      w.stopSent = true;
      ::kill(w.pid, SIGTERM);
    }
  }
  restarts_[target_].cancel();
  --target_;
}

pid_t Supervisor::replaceWorker(unsigned id, const std::string& why) {
  refuseWhileReloading();
  Worker* old = nullptr;
  for (Worker& w : workers_) {
    if (w.id == id && !w.removed) old = &w;
  }
  if (old == nullptr) {
    std::string ids;
    for (const Worker& w : workers_) {
      if (!w.removed) ids += fmt::format("{}{}", ids.empty() ? "" : ", ", w.id);
    }
    throw Error(ErrorKind::usage, fmt::format("no worker {} is running (running: {})", id, ids.empty() ? "none" : ids));
  }
  old->removed = true;
  old->retiring = true;
  const pid_t pid = old->pid;
  if (!old->serving) {  // it never served: nothing to drain, so there is no reason to wait for the new one
    old->stopSent = true;
    ::kill(pid, SIGTERM);
  }
  log::info("worker {} (PID {}) is being replaced ({})", id, pid, why);
  spawn(id, old->stopSent ? 0 : pid);  // may move workers_: old is not used after this
  return pid;
}

}  // namespace cppd::runner
