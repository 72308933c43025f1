#include "workers/supervisor.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <cppd/metrics.hpp>

#include "workers/worker_count.hpp"

namespace cppd::runner {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A worker that dies this soon after it started (by anything but SIGKILL from outside) is crashing, not
// finished: its next start waits, doubling from the first delay up to the cap.
constexpr milliseconds kQuickDeath{1000};
constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{10000};
// The board is read this often while a worker is starting or being replaced, and otherwise.
constexpr milliseconds kBusyTick{5};
constexpr milliseconds kIdleTick{100};

std::string howItEnded(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by {}", signalName(WTERMSIG(status)));
  return fmt::format("ended with wait status {}", status);
}

bool cleanExit(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

}  // namespace

Supervisor::Supervisor(Reactor& loop, Settings settings, Hooks hooks)
    : settings_(settings), hooks_(std::move(hooks)), loop_(loop), self_(::getpid()), target_(settings.workers) {}

Supervisor::~Supervisor() = default;

Supervisor::Outcome Supervisor::run() {
  LogContext context("supervisor");
  SignalHandlers::Actions actions;
  actions.shutdown = [this](int signum) { beginStop(signum); };
  actions.force = [this](int signum) { force(signum); };
  actions.rotate = [this] {
    if (hooks_.rotateLog) hooks_.rotateLog();
    for (const Worker& w : workers_) ::kill(w.pid, SIGHUP);  // each worker reopens what the supervisor rotated
  };
  actions.reopen = [this] { requestReopen(); };
  stopSignals_.emplace(loop_, std::move(actions));
  watches_.push_back(loop_.onSignal(SIGCHLD, [this](int) { reap(); }));
  watches_.push_back(loop_.onSignal(SIGTTIN, [this](int) { scale(+1, "SIGTTIN"); }));
  watches_.push_back(loop_.onSignal(SIGTTOU, [this](int) { scale(-1, "SIGTTOU"); }));
  watches_.push_back(loop_.onSignal(SIGUSR2, [this](int) {
    try {
      requestReload("SIGUSR2");
    } catch (const Error& e) {
      log::info("Received SIGUSR2: no reload ({})", e.what());
    }
  }));
  quickDeaths_.assign(kMaxWorkers + 1, 0);
  restartCount_.assign(kMaxWorkers + 1, 0);
  restarts_.resize(kMaxWorkers + 1);
  if (!board_) board_ = std::make_unique<WorkerBoard>();
  adoptWorkers();
  // A stop that came while the services bound is handled by the loop in a moment: start no worker for it.
  const bool stopWaiting = releaseSupervisorSignals();
  if (!adoptedFailure_.empty()) failReload(adoptedFailure_);
  for (unsigned id = 1; id <= target_ && !stopWaiting; ++id) spawn(id);
  scheduleTick();
  loop_.run();
  stopSignals_.reset();
  watches_.clear();
  tick_.cancel();
  deadline_.cancel();
  reloadDeadline_.cancel();
  reloadExec_.cancel();
  failedKill_.cancel();
  for (auto& restart : restarts_) restart.cancel();
  if (forced_ && outcome_.failure.empty()) outcome_.code = exitCodeFor(ErrorKind::software);
  return outcome_;
}

void Supervisor::spawn(unsigned id, pid_t replacing) {
  if (stopping_ || degraded_) return;
  const std::optional<std::size_t> slot = board_->take();
  if (!slot) {
    log::error("worker {}: no free slot on the board; not started", id);
    return;
  }
  // Every signal waits while the child is between fork and becoming a worker: until it has let go of this
  // loop's signal handles, a signal meant for it would be passed on to the supervisor's loop.
  sigset_t all;
  sigset_t previous;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = ::fork();
  if (pid == 0) becomeWorker(id, *slot, previous);
  const int error = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) {
    board_->release(*slot);
    log::error("fork worker {}: {}", id, std::strerror(error));
    scheduleRestart(id, true);
    return;
  }
  Worker w;
  w.id = id;
  w.pid = pid;
  w.slot = *slot;
  w.started = Clock::now();
  w.startedAt = std::chrono::system_clock::now();
  w.replacing = replacing;
  w.generation = spawnGeneration();
  workers_.push_back(w);
  log::info("worker {} (PID {}) started", id, pid);
  scheduleTick();
}

void Supervisor::becomeWorker(unsigned id, std::size_t slot, const sigset_t& mask) {
  // The child shares this loop's kernel state with the supervisor: it only lets go of the signal handles
  // (memory and the signal table; no epoll call) and never runs or closes anything else of it.
  stopSignals_->close();
  for (auto& watch : watches_) watch.stop();
  detail::useWorkerMetrics(slot);  // before any connection: its numbers go where the supervisor reads them
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGHUP, &ignore, nullptr);  // until the worker's own handlers exist: the log signals must not kill
  ::sigaction(SIGUSR1, &ignore, nullptr);
  ::sigaction(SIGUSR2, &ignore, nullptr);  // a reload is the supervisor's: a worker never reloads
  // SIGTERM and SIGINT stay blocked until the worker's own handlers exist (hooks_.worker unblocks them): a stop
  // that comes while it starts is then a clean stop, not death by signal.
  sigset_t startMask = mask;
  ::sigaddset(&startMask, SIGTERM);
  ::sigaddset(&startMask, SIGINT);
  // Forked while the supervisor held its signals (before a reload's exec): those it held, ignored above until the
  // worker's handlers exist or none of the worker's business, must not stay blocked for the worker's whole life.
  for (const int signum : {SIGHUP, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU}) ::sigdelset(&startMask, signum);
  ::pthread_sigmask(SIG_SETMASK, &startMask, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no worker outlives its supervisor
  if (::getppid() != self_) std::_Exit(exitCodeFor(ErrorKind::software));  // it died before the line above
  LogContext context("-");
  std::uint64_t limit = settings_.maxRequests;
  if (limit != 0 && settings_.maxRequestsJitter != 0) {
    std::mt19937_64 random(std::random_device{}());
    limit += std::uniform_int_distribution<std::uint64_t>(0, settings_.maxRequestsJitter)(random);
  }
  int code = exitCodeFor(ErrorKind::software);
  try {
    code = hooks_.worker(id, board_->slot(slot), limit);
  } catch (const std::exception& e) {
    log::error("worker {}: {}", id, e.what());
  } catch (...) {
    log::error("worker {}: an exception not derived from std::exception", id);
  }
  // _exit, as a forked child should: the exit handlers and static destructors belong to the supervisor's image
  // (registered before the fork), and the worker's own state was stopped and released by hooks_.worker.
  log::flush();
  std::fflush(nullptr);
  std::_Exit(code);
}

void Supervisor::scheduleTick() {
  bool busy = starting_;
  for (const Worker& w : workers_) busy = busy || !w.serving || w.retiring || w.replacing != 0;
  const milliseconds interval = busy ? kBusyTick : kIdleTick;
  if (tick_.active()) {
    if (!busy) return;
    tick_.cancel();
  }
  tick_ = loop_.callLater(interval, [this] {
    tick();
    scheduleTick();
  });
}

void Supervisor::tick() {
  const std::int64_t now = WorkerBoard::now();
  for (std::size_t i = 0; i < workers_.size(); ++i) checkWorker(workers_[i], now);  // spawn may grow workers_
  if (starting_ && !stopping_) {
    unsigned serving = 0;
    for (const Worker& w : workers_) serving += w.serving ? 1 : 0;
    if (serving >= target_) {
      starting_ = false;
      log::info("all workers serving ({})", serving);
      if (hooks_.started) hooks_.started(loop_);
      if (reloadQueued_ && mayStartReload()) startReload();  // a SIGUSR2 that came during the start
    }
  }
  if (reloadPhase_ == ReloadPhase::starting && !stopping_) reloadProgress();
  if (hooks_.rotateLogIfFull) hooks_.rotateLogIfFull();
}

void Supervisor::checkWorker(Worker& w, std::int64_t now) {
  WorkerBoard::Slot& slot = board_->slot(w.slot);
  const WorkerBoard::State state = slot.state.load(std::memory_order_acquire);
  if (state == WorkerBoard::State::failed) {
    if (starting_ && !stopping_) failStart(slot.failureCode.load(), slot.failureReason());
    if (reloadPhase_ == ReloadPhase::starting && w.generation == spawnGeneration() && !stopping_) {
      failReload(fmt::format("worker {}: {}", describe(w), slot.failureReason()));
    }
    return;  // it exits on its own; reap() decides what comes next
  }
  if (!w.serving && (state == WorkerBoard::State::serving || state == WorkerBoard::State::retiring)) {
    w.serving = true;  // its crash count is cleared only when it dies after a second or more (scheduleRestart)
    log::info("worker {} serving", describe(w));
    if (w.replacing != 0) {
      if (Worker* old = find(w.replacing); old && !old->stopSent) {
        old->stopSent = true;
        ::kill(old->pid, SIGTERM);  // drains: the listening socket stays open in the supervisor
      }
      w.replacing = 0;
    }
    if (hooks_.status && !starting_) hooks_.status(fmt::format("{} workers", workers_.size()));
  }
  // An old generation's worker is not replaced: the new generation takes over (or, after a failed reload, it
  // serves until it ends).
  if (state == WorkerBoard::State::retiring && !w.retiring && !stopping_ && !w.stopSent &&
      w.generation == spawnGeneration() && !degraded_) {
    w.retiring = true;
    w.removed = true;
    log::info("worker {} accepted {} connections; replacing it", describe(w), slot.accepted.load());
    const unsigned id = w.id;
    const pid_t pid = w.pid;
    spawn(id, pid);  // may move workers_: w is not used after this
    return;
  }
  const auto timeout = settings_.workerTimeout;
  if (timeout.count() > 0 && !w.killed && !w.stopSent) {
    const std::int64_t silentNs = now - slot.heartbeatNs.load(std::memory_order_acquire);
    if (silentNs > std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count()) {
      w.killed = true;
      log::warn("worker {} sent no heartbeat for {} s; killing it", describe(w),
                std::chrono::duration<double>(timeout).count());
      ::kill(w.pid, SIGKILL);
    }
  }
}

void Supervisor::reap() {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    Worker* w = find(pid);
    if (w == nullptr) {  // a reload's check, or an orphan reparented to us (PID 1 in a container)
      recordOtherExit(pid, status);
      if (reloadPhase_ == ReloadPhase::checking) continue;  // the check's thread reads it from there
      log::info("reaped child PID {} ({})", pid, WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                                                    : howItEnded(status));
      continue;
    }
    Worker ended = *w;
    workers_.erase(workers_.begin() + (w - workers_.data()));
    exited(ended, status);
  }
  finishIfDone();
}

void Supervisor::exited(Worker w, int status) {
  detail::foldWorkerMetrics(w.slot);  // its counters stay counted; the slot's next worker starts at zero
  board_->release(w.slot);
  const bool expected = w.stopSent && cleanExit(status);
  if (expected) log::info("worker {} {}", describe(w), howItEnded(status));
  else log::warn("worker {} {}", describe(w), howItEnded(status));
  if (stopping_) {
    if (!cleanExit(status)) forced_ = true;
    return;
  }
  if (reloadPhase_ == ReloadPhase::starting && w.generation == spawnGeneration() && !w.serving) {
    WorkerBoard::Slot& slot = board_->slot(w.slot);
    failReload(slot.state.load() == WorkerBoard::State::failed
                   ? fmt::format("worker {}: {}", describe(w), slot.failureReason())
                   : fmt::format("worker {} {} before it served", describe(w), howItEnded(status)));
    return;
  }
  if (w.generation != spawnGeneration()) {
    if (degraded_ && !w.stopSent) log::warn("worker {} of generation {} ended; the failed reload left nothing to "
                                            "replace it (reload again)", describe(w), w.generation);
    return;  // an old generation's: never replaced
  }
  if (starting_ && !w.serving) {
    WorkerBoard::Slot& slot = board_->slot(w.slot);
    if (slot.state.load() == WorkerBoard::State::failed) {
      failStart(slot.failureCode.load(), slot.failureReason());
    } else {
      const int code = WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status)
                                                                      : exitCodeFor(ErrorKind::software);
      failStart(code, fmt::format("worker {} (PID {}) {} before it served", w.id, w.pid, howItEnded(status)));
    }
    return;
  }
  if (w.removed) return;
  const auto lifetime = std::chrono::duration_cast<milliseconds>(Clock::now() - w.started);
  // A kill from outside (an operator's kill -9) is not a crash; a worker this supervisor killed for a stuck loop
  // is, so one that gets stuck on every start backs off too.
  const bool killedFromOutside = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && !w.killed;
  scheduleRestart(w.id, w.killed || ((!w.serving || lifetime < kQuickDeath) && !killedFromOutside));
}

void Supervisor::scheduleRestart(unsigned id, bool quick) {
  if (stopping_ || id > target_) return;
  ++restartCount_[id];
  unsigned& deaths = quickDeaths_[id];
  deaths = quick ? deaths + 1 : 0;
  if (deaths == 0) {
    spawn(id);
    return;
  }
  const milliseconds delay = std::min<milliseconds>(kMaxBackoff, kFirstBackoff * (1LL << std::min(deaths - 1, 10u)));
  log::warn("worker {} keeps crashing; next start in {} ms", id, delay.count());
  restarts_[id] = loop_.callLater(delay, [this, id] {
    const bool running = std::any_of(workers_.begin(), workers_.end(),
                                     [id](const Worker& w) { return w.id == id && !w.removed; });
    if (!running) spawn(id);
  });
}

void Supervisor::beginStop(int signum) {
  if (stopping_) return;
  stopping_ = true;
  reloadPhase_ = ReloadPhase::idle;
  reloadQueued_ = false;
  reloadDeadline_.cancel();
  if (hooks_.stopping) hooks_.stopping(fmt::format("Received {}, shutting down.", signalName(signum)));
  for (auto& restart : restarts_) restart.cancel();
  for (Worker& w : workers_) {
    w.removed = true;
    w.stopSent = true;
    ::kill(w.pid, SIGTERM);
  }
  // The workers bound their own drains by --shutdown-timeout; this is for one that never comes back.
  if (settings_.shutdownTimeout.count() > 0) {
    deadline_ = loop_.callLater(settings_.shutdownTimeout + milliseconds(5000), [this] {
      for (const Worker& w : workers_) {
        log::error("worker {} did not stop in time; killing it", describe(w));
        ::kill(w.pid, SIGKILL);
      }
      forced_ = true;
    });
  }
  finishIfDone();
}

std::vector<WorkerFacts> Supervisor::workerFacts() const {
  std::vector<WorkerFacts> out;
  for (const Worker& w : workers_) {
    WorkerFacts facts;
    facts.id = w.id;
    facts.pid = w.pid;
    facts.startTime = std::chrono::duration<double>(w.startedAt.time_since_epoch()).count();
    countConnections(facts, w.slot);
    facts.restarts = restartCount_.empty() ? 0 : restartCount_[w.id];
    out.push_back(facts);
  }
  return out;
}

// What the worker's loop counted so far, from the memory it counts into (no heartbeat needed).
void Supervisor::countConnections(WorkerFacts& facts, std::size_t slot) {
  std::uint64_t accepted = 0;
  std::int64_t active = 0;
  for (const auto& reading : detail::readWorkerMetrics(slot)) {
    if (reading.name == "cppd_connections_accepted_total") accepted += reading.count;
    else if (reading.name == "cppd_connections_active") active += reading.gauge;
  }
  facts.accepted = accepted;
  facts.active = static_cast<std::uint64_t>(std::max<std::int64_t>(active, 0));
}

std::uint64_t Supervisor::restarts() const noexcept {
  std::uint64_t total = restartsBefore_;
  for (const std::uint64_t count : restartCount_) total += count;
  return total;
}

void Supervisor::requestStop(const std::string& why) {
  if (stopping_) return;
  log::info("{}", why);
  beginStop(SIGTERM);
}

void Supervisor::requestReopen() {
  if (hooks_.reopenLog) hooks_.reopenLog();
  for (const Worker& w : workers_) ::kill(w.pid, SIGHUP);
}

void Supervisor::force(int signum) {
  forced_ = true;
  // The workers' own second-signal path: each gives up its drain and exits at once.
  for (const Worker& w : workers_) ::kill(w.pid, signum);
}

void Supervisor::failStart(int code, const std::string& reason) {
  if (!outcome_.failure.empty()) return;
  outcome_.code = code;
  outcome_.failure = reason;
  stopping_ = true;
  for (auto& restart : restarts_) restart.cancel();
  for (Worker& w : workers_) {
    w.removed = true;
    w.stopSent = true;
    ::kill(w.pid, SIGTERM);
  }
  finishIfDone();
}

void Supervisor::finishIfDone() {
  if (stopping_ && workers_.empty()) loop_.stop();
  if (reloadQueued_ && mayStartReload()) startReload();
}

std::string Supervisor::describe(const Worker& w) const { return fmt::format("{} (PID {})", w.id, w.pid); }

Supervisor::Worker* Supervisor::find(pid_t pid) {
  for (Worker& w : workers_) {
    if (w.pid == pid) return &w;
  }
  return nullptr;
}

}  // namespace cppd::runner
