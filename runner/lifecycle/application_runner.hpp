#pragma once

// The run sequence (twistd's UnixApplicationRunner): pidfile, log, environment, daemonize, privileged start,
// privilege drop, start, report, run, shut down.

#include <memory>
#include <string>
#include <vector>

#include <cppd/application.hpp>

#include "control/controlled_daemon.hpp"
#include "process/process_primitives.hpp"
#include "options/server_options.hpp"

namespace cppd::runner {

class ApplicationRunner {
 public:
  explicit ApplicationRunner(const ServerOptions& options, IProcessPrimitives& os = systemPrimitives());

  /// Runs app (its makeService already done, so usage errors happened before this) and returns the process
  /// exit code for main: 0 after a clean shutdown; 70 when the shutdown had to be forced (timeout or second
  /// signal); on a startup failure the ErrorKind's code (cppd::exitCodeFor), after "cppd: startup failed:
  /// <reason>" went to stderr (foreground or before the fork) or through the status pipe to the launcher.
  /// In daemon mode only the daemon returns: the launcher _exits with the daemon's code from inside (see
  /// daemonize.hpp). pluginInfo is logged after the start-up lines ("plugin: fastpoetry (/path/fastpoetry.so)");
  /// empty logs the application name. fileServers names the plugins whose IServiceMaker::servesFiles() is true
  /// ("ftp", "ftp (service 'anon')"): run as root with neither --uid nor --allow-root they make the start fail
  /// with 77 before anything binds (root_policy.hpp). Main thread only; runs the global reactor.
  /// With --workers, the services named in firstWorkerOnly run in worker 1 only (the others close their copy of
  /// its sockets); without, the list means nothing.
  int run(std::shared_ptr<Application> app, const std::string& pluginInfo = {},
          const std::vector<std::string>& fileServers = {}, const std::vector<std::string>& firstWorkerOnly = {});

  /// The plugins the application's services came from, for the control socket's `plugins`.
  void setPlugins(std::vector<PluginFacts> plugins) { plugins_ = std::move(plugins); }

 private:
  const ServerOptions& options_;
  IProcessPrimitives& os_;
  std::vector<PluginFacts> plugins_;
};

}  // namespace cppd::runner
