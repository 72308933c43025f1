#pragma once

// The run ApplicationRunner::run drives; the runner's own, not exported. Its member functions live by concern:
// run.cpp (the single-process sequence), run_workers.cpp (the supervisor, its workers and reloads) and
// run_control.cpp (what the control socket and the metrics endpoint ask).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <cppd/application.hpp>
#include <cppd/reactor.hpp>

#include "control/control_server.hpp"
#include "control/controlled_daemon.hpp"
#include "control/single_process_daemon.hpp"
#include "lifecycle/run_state.hpp"
#include "lifecycle/shutdown.hpp"
#include "lifecycle/shutdown_backstop.hpp"
#include "lifecycle/signals.hpp"
#include "lifecycle/systemd_notifier.hpp"
#include "metrics/metrics_server.hpp"
#include "options/server_options.hpp"
#include "process/child_reaper.hpp"
#include "process/privileges.hpp"
#include "process/process_primitives.hpp"
#include "reload/handover.hpp"
#include "workers/supervisor.hpp"
#include "workers/worker_board.hpp"

namespace cppd::runner {

// One run: the steps of the start-up sequence, then serving and shutting down.
class Run {
 public:
  Run(const ServerOptions& o, IProcessPrimitives& os, std::shared_ptr<Application> app,
      std::vector<std::string> firstWorkerOnly, std::vector<PluginFacts> plugins);

  // Everything up to "tell the launcher it worked". Daemonizing, only the daemon comes back from detach().
  void start(const std::string& pluginInfo, const std::vector<std::string>& fileServers);

  // A reload's new image (this process, exec'd by the previous image): the pidfile, the listening sockets, the
  // control socket and the shared memory are taken over, not created; nothing daemonizes. The supervisor then
  // adopts the old generation's workers (supervise()).
  void startReloaded(const PrivilegeTarget& target);

  // The new image's own start failed: the old generation keeps serving under this supervisor, with nothing
  // rolled back (the sockets the old workers use stay open here for the next reload to hand over).
  int superviseAfterFailedReload(const std::string& reason);

  void addReloadHooks(Supervisor::Hooks& hooks);

  int failWorker(WorkerBoard::Slot& slot, int code, const std::string& reason);

  int fail(int code, const std::string& reason);

  // A multi-process run: the supervisor forks the workers from here and returns when they have all stopped.
  int supervise();

  // In a forked worker: its own loop and signals, the privilege drop, startService, then serving until stopped.
  int work(unsigned id, WorkerBoard::Slot& slot, std::uint64_t maxRequests);

  int serve();

 private:
  void detach();

  // Rounded up: a timeout below a millisecond is still a timeout, not 0 ("wait for ever").
  static std::chrono::milliseconds roundedUp(double seconds);

  // A worker's loop tells the supervisor it is alive (and how many connections it accepted) a few times per
  // --worker-timeout, at most ten times a second and at least once a second.
  std::chrono::milliseconds heartbeatInterval() const;

  void heartbeat(WorkerBoard::Slot& slot, std::chrono::milliseconds interval);

  void installSignals(bool worker = false);

  void openControl(const PrivilegeTarget& target, Reactor& loop);

  // The metrics endpoint, bound here (as root where needed, like the services' ports) and served by loop.
  void openMetrics(const PrivilegeTarget& target, Reactor& loop);

  // What the control socket and the metrics endpoint ask about the run.
  void makeControlled(const std::string& controlPath);

  // `cppdctl reload [--check]`.
  std::string reload(bool checkOnly);

  Supervisor& startedSupervisor();

  // WATCHDOG=1 every half WATCHDOG_USEC, when the service manager asked for it.
  void startWatchdog();

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
  Handover* handover_ = nullptr;            // a reload's new image: what the previous image handed over
  std::string failedReload_;                // the new image's own start failed: why
  double startTime_ = 0;                    // the daemon's first start (seconds since the epoch)
  std::int64_t startedNs_ = 0;              // and its CLOCK_MONOTONIC
};

}  // namespace cppd::runner
