#pragma once

// The runner's signal handling. Every signal arrives as a loop event through cppd::Reactor::onSignal (the real
// handler only wakes the loop), never as work inside a handler.

#include <functional>
#include <string>
#include <vector>

#include <cppd/reactor.hpp>

namespace cppd::runner {

/// A fresh start (not a reload's new image) undoes the signal mask it inherited from whatever launched it: a
/// blocked SIGTERM would make the server deaf to `kill`, a blocked SIGHUP to logrotate, a blocked SIGCHLD a
/// supervisor blind to its workers' deaths. SIGUSR1, SIGHUP and SIGUSR2 are ignored first, so one already pending
/// is dropped rather than ending a server that is still starting (their default action).
void unblockInheritedSignals();

/// Ignores SIGUSR1, SIGHUP and SIGUSR2 until SignalHandlers subscribes to them, so a log or reload signal sent as
/// soon as the pidfile exists (logrotate, a test) cannot kill a server that is still starting (their default
/// action). One that is blocked (a reload's new image) is left as it is: blocked, it cannot kill, and one already
/// pending is kept for the handlers.
void ignoreLogSignalsUntilHandled();

/// Ignores SIGTERM and SIGINT: used once the shutdown has run and only the final clean-up is left.
void ignoreStopSignals();

/// Unblocks SIGTERM and SIGINT for the calling thread (a worker blocks them until its handlers exist).
void unblockStopSignals();

/// The signals a supervisor answers (SIGTERM, SIGINT, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2, SIGHUP), blocked for the
/// calling thread from the moment its pidfile names it until its handlers exist: a stop sent while the services
/// bind is then a clean stop, where the default action would leave the pidfile and the control socket behind (and
/// SIGTTIN's would freeze it), and a reload, rotation or reopen asked for then waits (across a reload's exec too).
/// Returns whether a SIGTERM or SIGINT was already waiting when released.
void holdSupervisorSignals();
bool releaseSupervisorSignals();

/// Ignores SIGPIPE for the whole process: a client that hangs up mid-write must cost one connection
/// (EPIPE, reported to its protocol), never the server.
void ignoreBrokenPipes();

/// "SIGTERM" for SIGTERM, "signal N" for an unnamed one.
std::string signalName(int signum);

class SignalHandlers {
 public:
  struct Actions {
    std::function<void(int signum)> shutdown;  // first SIGTERM/SIGINT
    std::function<void(int signum)> force;     // every further SIGTERM/SIGINT
    std::function<void()> rotate;              // SIGUSR1 (may be empty: harmless no-op)
    std::function<void()> reopen;              // SIGHUP (may be empty: harmless no-op)
    std::function<void()> reload;              // SIGUSR2 (may be empty: the signal stays ignored)
  };

  /// Subscribes to SIGTERM, SIGINT, SIGUSR1, SIGHUP and, with a reload action, SIGUSR2 on reactor. Logs
  /// "Received SIGTERM, shutting down."
  /// before calling shutdown, and "Received SIGTERM again while shutting down: forcing the exit." before force.
  SignalHandlers(Reactor& reactor, Actions actions);
  ~SignalHandlers();
  SignalHandlers(const SignalHandlers&) = delete;
  SignalHandlers& operator=(const SignalHandlers&) = delete;

  /// Ends every subscription (the loop can then finish).
  void close();

 private:
  void onStopSignal(int signum);
  Actions actions_;
  bool stopping_ = false;
  std::vector<SignalWatch> watches_;
};

}  // namespace cppd::runner
