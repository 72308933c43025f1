#pragma once

// What the control server asks of the daemon it runs in. The single-process run implements it
// (SingleProcessDaemon); a supervisor of workers implements it too, filling in the workers.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "metrics/metric_sample.hpp"

namespace cppd::runner {

struct WorkerFacts {
  unsigned id = 0;
  pid_t pid = 0;
  double startTime = 0;  // seconds since the epoch
  std::optional<std::uint64_t> accepted;  // unset: not counted by this version
  std::optional<std::uint64_t> active;
  std::uint64_t restarts = 0;
};

struct DaemonFacts {
  pid_t pid = 0;
  std::string version;
  double startTime = 0;  // seconds since the epoch
  double uptime = 0;     // seconds (monotonic: a clock step does not change it)
  std::string logFile;   // a path, "-" for stdout, "syslog"
  std::string pidFile;   // empty: none
  std::string controlSocket;
  std::uint64_t generation = 1;  // bumped by each reload that succeeded
  std::uint64_t reloads = 0;     // reloads that succeeded
  std::uint64_t failedReloads = 0;
  bool reloading = false;        // a reload is under way (checking, or its new workers are starting)
  std::string lastReload;        // "reloaded: generation 2, 4 workers", "reload failed: ...", or empty
  std::vector<WorkerFacts> workers;  // empty in the single-process model
};

struct ServiceFacts {
  std::string name;
  std::string plugin;  // empty when not known
  std::vector<std::string> endpoints;
  std::optional<std::uint64_t> accepted;  // unset: not counted by this version
  std::optional<std::uint64_t> active;
  std::optional<std::uint64_t> bytesSent;
  std::optional<std::uint64_t> errors;
};

struct PluginFacts {
  std::string name;
  std::string file;
  std::string description;
  std::string version;
  std::string abi;
};

struct ListenerFacts {
  std::string service;
  std::string endpoint;  // as configured: "tcp:0:interface=127.0.0.1"
  std::string address;   // as bound: "127.0.0.1:43211", "/run/x.sock"
  std::optional<std::uint64_t> connections;
};

/// Loop thread only. stop() and reopen() start what they ask and return at once; neither throws. The metrics it
/// serves (IMetricsSource) are the same numbers status() and services() show.
class IControlledDaemon : public IMetricsSource {
 public:
  virtual ~IControlledDaemon() = default;
  virtual DaemonFacts status() const = 0;
  virtual std::vector<ServiceFacts> services() const = 0;
  virtual std::vector<PluginFacts> plugins() const = 0;
  virtual std::vector<ListenerFacts> listeners() const = 0;
  /// As SIGTERM: a graceful stop within the shutdown timeout.
  virtual void stop() = 0;
  /// As SIGHUP: reopen the log file.
  virtual void reopen() = 0;
  /// `workers add|remove N`: changes the number of workers by delta and returns the new number. Throws
  /// cppd::Error saying why not (one process; fewer than one; over the limit; stopping).
  virtual unsigned changeWorkers(int delta) = 0;
  /// `worker kill ID`: a fresh worker replaces worker id (the old one drains once the new one serves); returns
  /// the old one's PID. Throws cppd::Error saying why not (one process; no such worker; stopping).
  virtual pid_t replaceWorker(unsigned id) = 0;
  /// `reload`: starts a reload (or queues it behind one under way) and returns at once with what it did
  /// ("started", "queued"); its outcome shows in status(). `reload --check`: runs the reload's check only and
  /// returns what it said. Throws cppd::Error saying why not (one process; stopping; the check failed).
  virtual std::string reload(bool checkOnly) = 0;
};

}  // namespace cppd::runner
