#pragma once

// The control server's (and the metrics endpoint's) view of a run: the application's service tree, the run's
// files, its numbers, and the run's own stop and reopen. A supervisor of workers uses it too (Actions::workers).

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include <cppd/application.hpp>

#include "control/controlled_daemon.hpp"
#include "plugin/plugin_loader.hpp"

namespace cppd::runner {

class SingleProcessDaemon : public IControlledDaemon {
 public:
  struct Actions {
    std::function<void()> stop;
    std::function<void()> reopen;
    /// Set under a supervisor (--workers): the workers it runs. Connection counts then live in the workers,
    /// so the services' and listeners' active counts are shown as unknown.
    std::function<std::vector<WorkerFacts>()> workers;
    std::function<unsigned(int delta)> changeWorkers;  // set under a supervisor
    std::function<pid_t(unsigned id)> replaceWorker;    // set under a supervisor
    /// Set under a supervisor: worker restarts so far, over every worker id.
    std::function<std::uint64_t()> restarts;
    /// Serving, and no stop begun (unset: always).
    std::function<bool()> ready;
    /// Set under a supervisor: reload(checkOnly) as IControlledDaemon says, and the reload facts for status().
    std::function<std::string(bool checkOnly)> reload;
    std::function<void(DaemonFacts&)> reloadFacts;
  };

  /// facts: the run's pid, files and control socket (version, start time and uptime are filled in here unless
  /// startTime is set: a reload's new image keeps the daemon's first start, and startedNs is its CLOCK_MONOTONIC).
  SingleProcessDaemon(std::shared_ptr<Application> app, DaemonFacts facts, std::vector<PluginFacts> plugins,
                      Actions actions, std::int64_t startedNs = 0);

  DaemonFacts status() const override;
  std::vector<ServiceFacts> services() const override;
  std::vector<PluginFacts> plugins() const override { return plugins_; }
  std::vector<ListenerFacts> listeners() const override;
  void stop() override;
  void reopen() override;
  unsigned changeWorkers(int delta) override;
  pid_t replaceWorker(unsigned id) override;
  std::string reload(bool checkOnly) override;
  /// The SDK's series (summed over the workers under a supervisor) and the run's own: cppd_build_info,
  /// cppd_start_time_seconds, cppd_reloads_total, cppd_workers (the live workers; 1 for a single process, which
  /// is its own one worker) and cppd_worker_restarts_total (0 for a single process).
  std::vector<MetricSample> metrics() const override;
  bool ready() const override;

 private:
  std::size_t liveWorkers() const;
  std::shared_ptr<Application> app_;
  DaemonFacts facts_;
  std::vector<PluginFacts> plugins_;
  Actions actions_;
  std::chrono::steady_clock::time_point started_;
};

/// What `cppdctl plugins` shows of the plugins a deployment loaded.
std::vector<PluginFacts> describePlugins(const std::vector<LoadedPlugin>& plugins);

}  // namespace cppd::runner
