#pragma once

// The supervisor of a multi-process run (`--workers N`): it holds the listening sockets the services bound
// (privilegedStartService ran before it), forks the workers, replaces those that die (backing off when they
// keep crashing at once), kills those whose loop stopped beating, recycles those that reached --max-requests
// after their replacement serves, scales on SIGTTIN/SIGTTOU, and stops them all on SIGTERM/SIGINT. It runs its
// own small loop, never the one the services' sockets are registered on, so it never accepts a connection.

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <cppd/reactor.hpp>

#include "control/controlled_daemon.hpp"
#include "lifecycle/signals.hpp"
#include "reload/handover.hpp"
#include "reload/reload_check.hpp"
#include "workers/worker_board.hpp"

namespace cppd::runner {

class Supervisor {
 public:
  struct Settings {
    unsigned workers = 1;
    std::chrono::milliseconds workerTimeout{30000};  // zero: no heartbeat deadline
    std::uint64_t maxRequests = 0;                   // zero: never recycle
    std::uint64_t maxRequestsJitter = 0;
    std::chrono::milliseconds shutdownTimeout{30000};  // the workers' own drain deadline; zero: none
    std::chrono::milliseconds reloadTimeout{30000};    // a reload's new workers must all serve by then
  };

  struct Hooks {
    /// Runs in the forked child as worker id and returns its exit code (the child then exits with it). SIGTERM
    /// and SIGINT are blocked when it starts: it unblocks them once it handles them.
    std::function<int(unsigned id, WorkerBoard::Slot& slot, std::uint64_t maxRequests)> worker;
    /// Every worker of the first start serves: report success (status pipe, READY=1). Supervisor's loop.
    std::function<void(Reactor& loop)> started;
    std::function<void()> rotateLog;        // SIGUSR1
    std::function<void()> reopenLog;        // SIGHUP
    std::function<void()> rotateLogIfFull;  // checked on every tick: the workers write, the supervisor rotates
    std::function<void(const std::string&)> status;  // STATUS= for systemd
    std::function<void(const std::string&)> stopping;  // STOPPING=1
    /// A reload's first step, on a thread-pool thread (never touching the loop): runs the cppd binary as
    /// installed now with --check and the daemon's command line (ReloadCheck::run).
    std::function<ReloadCheck()> checkReload;
    /// A reload's second step: execs the new image with handover (the supervisor filled in its part: the
    /// workers, the board, the counts). Returns only when the exec could not be done, with why.
    std::function<std::string(Handover& handover)> execReload;
    /// A reload began (RELOADING=1) / ended (READY=1 with what happened).
    std::function<void(const std::string&)> reloading;
    std::function<void(const std::string&)> reloaded;
  };

  /// What status shows about reloads.
  struct ReloadFacts {
    std::uint64_t generation = 1;  // of the workers serving
    std::uint64_t reloads = 0;     // succeeded
    std::uint64_t failed = 0;
    bool inProgress = false;       // checking, or the new generation is starting
    bool queued = false;
    std::string last;              // "reloaded: generation 7, 4 workers" / "reload failed: ..." / ""
  };

  /// How the run ended. failure non-empty: the first start failed (code is its exit code); otherwise code is 0
  /// after a clean stop, 70 when a worker had to be forced or killed.
  struct Outcome {
    int code = 0;
    std::string failure;
  };

  /// loop: the supervisor's own (never the global reactor, which holds the services' sockets); it may already
  /// serve the control socket.
  Supervisor(Reactor& loop, Settings settings, Hooks hooks);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  /// A reload's new image, before run(): the previous generation's workers (still this process's children),
  /// its board and counts. run() then starts the new generation and drains the old one once it all serves; when
  /// the new one fails (or reason is given: this image's own start failed), the old one keeps serving.
  void adopt(const Handover& handover, const std::string& failedStart = {});

  /// Starts the workers and supervises them until they have all stopped. Returns only in the supervisor.
  Outcome run();

  /// SIGUSR2 / `cppdctl reload`: starts a reload, or queues one while a reload or an old generation's drain is
  /// under way (at most two generations serve at once). Throws cppd::Error when stopping.
  void requestReload(const std::string& why);
  ReloadFacts reloadFacts() const;

  /// What the control socket shows: each live worker (id, PID, start time, accepted, restarts of its id).
  std::vector<WorkerFacts> workerFacts() const;
  /// Every worker of the first start serves and no stop has begun (what GET /ready answers).
  bool ready() const noexcept { return !starting_ && !stopping_; }
  /// Workers started again after one died, over every id.
  std::uint64_t restarts() const noexcept;
  /// As SIGTERM, said with why.
  void requestStop(const std::string& why);
  /// As SIGHUP: reopen the log here and in every worker.
  void requestReopen();
  /// `cppdctl workers add|remove N`: changes the number of workers by delta (as many SIGTTIN/SIGTTOU) and
  /// returns the new number. All or nothing: throws cppd::Error saying why when the result would be under one
  /// worker or over the limit, or the run is stopping.
  unsigned changeWorkers(int delta, const std::string& why);
  /// `cppdctl worker kill ID`: a fresh worker with the same id starts at once, and the old one is asked to stop
  /// (it drains) as soon as the new one serves, as for --max-requests. Returns the old one's PID; throws
  /// cppd::Error when no live worker has that id or the run is stopping.
  pid_t replaceWorker(unsigned id, const std::string& why);

 private:
  struct Worker {
    unsigned id = 0;
    pid_t pid = 0;
    std::size_t slot = 0;
    std::chrono::steady_clock::time_point started;
    std::chrono::system_clock::time_point startedAt;
    bool serving = false;
    bool retiring = false;     // asked to be replaced; its replacement is starting
    bool stopSent = false;     // SIGTERM sent (stop, TTOU, or replaced)
    bool killed = false;       // SIGKILL sent (heartbeat)
    bool removed = false;      // not to be replaced (TTOU, stop, replaced)
    pid_t replacing = 0;       // the retiring worker this one replaces, stopped once this one serves
    std::uint64_t generation = 1;
  };
  enum class ReloadPhase { idle, checking, starting };

  void spawn(unsigned id, pid_t replacing = 0);
  [[noreturn]] void becomeWorker(unsigned id, std::size_t slot, const sigset_t& mask);
  void tick();
  void checkWorker(Worker& w, std::int64_t now);
  void reap();
  void exited(Worker w, int status);
  void scheduleRestart(unsigned id, bool quick);
  void beginStop(int signum);
  void force(int signum);
  void scale(int delta, const char* why);
  void refuseWhileReloading() const;
  void addOne();
  void removeOne();
  void failStart(int code, const std::string& reason);
  void finishIfDone();
  void scheduleTick();
  std::string describe(const Worker& w) const;
  static void countConnections(WorkerFacts& facts, std::size_t slot);
  Worker* find(pid_t pid);
  // Reloads (supervisor_reload.cpp).
  void adoptWorkers();
  std::uint64_t spawnGeneration() const noexcept;
  bool mayStartReload() const noexcept;
  void startReload();
  void checked(const ReloadCheck& check);
  void execNewImage();  // the check passed: the handover, then the exec
  void reloadProgress();
  void finishReload();
  void failReload(const std::string& reason);
  void recordOtherExit(pid_t pid, int status);

  Settings settings_;
  Hooks hooks_;
  Reactor& loop_;
  std::vector<std::uint64_t> restartCount_;  // per id
  std::unique_ptr<WorkerBoard> board_;
  pid_t self_ = 0;
  unsigned target_ = 0;            // workers wanted now (SIGTTIN/SIGTTOU change it)
  std::vector<Worker> workers_;    // live processes, current and retiring
  std::vector<unsigned> quickDeaths_;  // per id: deaths in a row right after starting
  std::vector<DelayedCall> restarts_;  // per id: a pending delayed start
  bool starting_ = true;           // the first start: not every worker serves yet
  bool stopping_ = false;
  bool forced_ = false;
  Outcome outcome_;
  std::optional<SignalHandlers> stopSignals_;
  std::vector<SignalWatch> watches_;
  DelayedCall tick_;
  DelayedCall deadline_;
  // Reloads.
  ReloadPhase reloadPhase_ = ReloadPhase::idle;
  bool reloadQueued_ = false;
  bool degraded_ = false;  // a reload failed after the exec: the old generation serves, nothing new starts
  std::string reloadWhy_;
  std::uint64_t generation_ = 1;
  std::uint64_t reloads_ = 0;
  std::uint64_t failedReloads_ = 0;
  std::uint64_t restartsBefore_ = 0;  // restarts counted by earlier images
  std::string lastReload_;
  DelayedCall reloadDeadline_;
  DelayedCall reloadExec_;  // the exec, two loop callbacks after the check passed
  DelayedCall failedKill_;  // the workers of a failed reload that do not stop
  std::map<pid_t, int> otherExits_;  // children that were not workers (a reload's check), as the reaper found them
  std::string adoptedFailure_;
  std::vector<Handover::Worker> adopted_;
};

}  // namespace cppd::runner
