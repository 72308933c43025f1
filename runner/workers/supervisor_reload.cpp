#include "workers/supervisor.hpp"

// A reload: the cppd binary as installed now checks the daemon's command line (--check: the options, the
// deployment file, the plugins and the services they make); then this process execs it in place with the
// listening sockets, the board and the workers handed over (reload/handover.hpp). The new image starts a new
// generation of workers on the same sockets and, once every one of them serves, asks the old generation to
// drain. When the check fails, nothing changes; when the new generation fails, it is stopped and the old one
// keeps serving.

#include <sys/wait.h>

#include <csignal>
#include <memory>
#include <optional>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>

#include "lifecycle/signals.hpp"

namespace cppd::runner {
namespace {

constexpr std::chrono::milliseconds kFailedWorkerGrace{5000};

std::string plural(std::size_t n, const char* what) { return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s"); }

}  // namespace

void Supervisor::adopt(const Handover& handover, const std::string& failedStart) {
  board_ = std::make_unique<WorkerBoard>(handover.boardFd);
  generation_ = handover.generation;
  reloads_ = handover.reloads;
  failedReloads_ = handover.failedReloads;
  restartsBefore_ = handover.restarts;
  reloadWhy_ = handover.why;
  adopted_ = handover.workers;
  adoptedFailure_ = failedStart;
  reloadQueued_ = handover.queued;
  starting_ = false;  // the daemon started long ago: this image's workers are a reload's
  reloadPhase_ = ReloadPhase::starting;
}

// The previous image's workers: serving, this process's children, never replaced (the new generation is).
void Supervisor::adoptWorkers() {
  for (const Handover::Worker& old : adopted_) {
    board_->adoptSlot(old.slot);
    Worker w;
    w.id = old.id;
    w.pid = old.pid;
    w.slot = old.slot;
    w.started = std::chrono::steady_clock::now();
    w.startedAt = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(old.startTime)));
    w.serving = true;
    w.removed = true;
    w.generation = generation_;
    workers_.push_back(w);
  }
  adopted_.clear();
  if (reloadPhase_ != ReloadPhase::starting) return;
  log::info("reload ({}): generation {} starts {}; generation {} ({}) serves until it does", reloadWhy_,
            generation_ + 1, plural(target_, "worker"), generation_, plural(workers_.size(), "worker"));
  reloadDeadline_ = loop_.callLater(settings_.reloadTimeout, [this] {
    failReload(fmt::format("the new workers did not all serve within --reload-timeout ({} s)",
                           std::chrono::duration<double>(settings_.reloadTimeout).count()));
  });
}

std::uint64_t Supervisor::spawnGeneration() const noexcept {
  return reloadPhase_ == ReloadPhase::starting ? generation_ + 1 : generation_;
}

// At most two generations at once: a reload waits until the last one's old workers have drained.
bool Supervisor::mayStartReload() const noexcept {
  if (stopping_ || starting_ || reloadPhase_ != ReloadPhase::idle) return false;
  for (const Worker& w : workers_) {
    if (w.stopSent || w.generation != generation_) return false;
  }
  return true;
}

void Supervisor::requestReload(const std::string& why) {
  if (stopping_) throw Error(ErrorKind::unavailable, "the daemon is stopping");
  if (!hooks_.execReload) throw Error(ErrorKind::unavailable, "this run cannot reload");
  reloadWhy_ = why;
  if (!mayStartReload()) {
    if (!reloadQueued_) log::info("reload ({}) queued: {}", why, reloadPhase_ != ReloadPhase::idle
                                                                   ? "a reload is under way"
                                                                   : "the previous generation is still draining");
    reloadQueued_ = true;
    return;
  }
  startReload();
}

void Supervisor::startReload() {
  reloadQueued_ = false;
  reloadPhase_ = ReloadPhase::checking;
  log::info("reload ({}): checking the new configuration", reloadWhy_);
  if (hooks_.reloading) hooks_.reloading(fmt::format("Reloading ({})", reloadWhy_));
  auto result = std::make_shared<ReloadCheck>();
  // The pool's threads block every signal (Reactor::runInThreadPool): a stop or a reload is taken in by this
  // thread only, which holds them across the exec.
  loop_.runInThreadPool([check = hooks_.checkReload, result] {
                          if (check) *result = check();
                        },
                        [this, result] { checked(*result); });
}

void Supervisor::checked(const ReloadCheck& check) {
  std::optional<int> reaped;  // the SIGCHLD reaper may have collected the check before its thread did
  if (const auto found = otherExits_.find(check.pid); found != otherExits_.end()) {
    reaped = found->second;
    otherExits_.erase(found);
  }
  if (reloadPhase_ != ReloadPhase::checking) return;  // a stop came meanwhile
  const std::string failure = check.pid < 0 && check.failure.empty() ? "" : check.verdict(reaped);
  if (!failure.empty()) {
    reloadPhase_ = ReloadPhase::idle;
    ++failedReloads_;
    lastReload_ = fmt::format("reload failed: {}; generation {} keeps serving", failure, generation_);
    log::error("{}", lastReload_);
    if (hooks_.reloaded) hooks_.reloaded(lastReload_);
    finishIfDone();
    return;
  }
  // A stop or a reload asked for from here on stays pending across the exec, for the new image to handle. One the
  // loop's signal handler already took in but has not dispatched yet would leave with this image: the handover is
  // built once the loop has polled again, which dispatches every such signal (a reload is then queued, a stop
  // begun). Not a 0 ms callLater, even two deep: libuv 1.44 runs a 0 ms timer made in a timer callback in the same
  // pass, before any poll (a SIGUSR2 taken in just before the hold was lost in reload_test about once in 30 runs).
  holdSupervisorSignals();
  reloadExec_ = loop_.callAfterPoll([this] { execNewImage(); });
}

void Supervisor::execNewImage() {
  if (reloadPhase_ != ReloadPhase::checking) {  // a stop came meanwhile
    releaseSupervisorSignals();
    return;
  }
  Handover handover;
  handover.generation = generation_;
  handover.reloads = reloads_;
  handover.failedReloads = failedReloads_;
  handover.restarts = restarts();
  handover.why = reloadWhy_;
  handover.queued = reloadQueued_;
  handover.boardFd = board_->fd();
  for (const Worker& w : workers_) {
    handover.workers.push_back(Handover::Worker{
        w.id, w.pid, w.slot, std::chrono::duration<double>(w.startedAt.time_since_epoch()).count()});
  }
  log::info("reload ({}): the check passed; starting the new image", reloadWhy_);
  const std::string why = hooks_.execReload(handover);  // returns only when the exec failed
  releaseSupervisorSignals();  // what came meanwhile is handled here, as this image goes on
  reloadPhase_ = ReloadPhase::idle;
  ++failedReloads_;
  lastReload_ = fmt::format("reload failed: {}; generation {} keeps serving", why, generation_);
  log::error("{}", lastReload_);
  if (hooks_.reloaded) hooks_.reloaded(lastReload_);
  finishIfDone();
}

void Supervisor::reloadProgress() {
  unsigned serving = 0;
  for (const Worker& w : workers_) serving += w.generation == generation_ + 1 && w.serving ? 1 : 0;
  if (serving >= target_) finishReload();
}

void Supervisor::finishReload() {
  reloadDeadline_.cancel();
  reloadPhase_ = ReloadPhase::idle;
  degraded_ = false;
  const std::uint64_t old = generation_;
  ++generation_;
  ++reloads_;
  std::size_t draining = 0;
  for (Worker& w : workers_) {
    if (w.generation != old || w.stopSent) continue;
    w.removed = true;
    w.stopSent = true;
    ++draining;
    ::kill(w.pid, SIGTERM);  // drains: the listening sockets stay open here and in the new generation
  }
  lastReload_ = fmt::format("reloaded: generation {}, {}", generation_, plural(target_, "worker"));
  log::info("{} ({} of generation {} draining)", lastReload_, plural(draining, "worker"), old);
  if (hooks_.reloaded) hooks_.reloaded(lastReload_);
  scheduleTick();
}

void Supervisor::failReload(const std::string& reason) {
  if (reloadPhase_ != ReloadPhase::starting) return;
  reloadDeadline_.cancel();
  reloadPhase_ = ReloadPhase::idle;
  degraded_ = true;
  ++failedReloads_;
  const std::uint64_t failed = generation_ + 1;
  std::size_t serving = 0;
  for (Worker& w : workers_) {
    if (w.generation == failed) {
      w.removed = true;
      if (!w.stopSent) ::kill(w.pid, SIGTERM);
      w.stopSent = true;
    } else {
      ++serving;
    }
  }
  for (auto& restart : restarts_) restart.cancel();
  // A new worker stuck in its start never handles the SIGTERM: it served nothing, so it is killed soon after,
  // and the next reload is not held up by it.
  failedKill_ = loop_.callLater(kFailedWorkerGrace, [this, failed] {
    for (Worker& w : workers_) {
      if (w.generation != failed) continue;
      log::warn("worker {} of the failed generation {} did not stop; killing it", describe(w), failed);
      w.killed = true;
      ::kill(w.pid, SIGKILL);
    }
  });
  lastReload_ = fmt::format("reload failed: {}; generation {} keeps serving ({})", reason, generation_,
                            plural(serving, "worker"));
  log::error("{}", lastReload_);
  if (hooks_.reloaded) hooks_.reloaded(lastReload_);
}

void Supervisor::recordOtherExit(pid_t pid, int status) {
  if (otherExits_.size() >= 64) otherExits_.erase(otherExits_.begin());
  otherExits_[pid] = status;
}

Supervisor::ReloadFacts Supervisor::reloadFacts() const {
  ReloadFacts facts;
  facts.generation = generation_;
  facts.reloads = reloads_;
  facts.failed = failedReloads_;
  facts.inProgress = reloadPhase_ != ReloadPhase::idle;
  facts.queued = reloadQueued_;
  facts.last = lastReload_;
  return facts;
}

}  // namespace cppd::runner
