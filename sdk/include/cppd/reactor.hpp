#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <cppd/export.hpp>

namespace cppd {

namespace detail {
struct ReactorAccess;
}

/// A handle to a call scheduled with Reactor::callLater or callAfterPoll. Copies refer to the same call. Cancelling a
/// call that already ran or was cancelled does nothing. Loop thread only.
class CPPD_API DelayedCall {
 public:
  DelayedCall();
  ~DelayedCall();
  DelayedCall(const DelayedCall&);
  DelayedCall& operator=(const DelayedCall&);

  void cancel();
  bool active() const noexcept;

  struct State;  // defined in the SDK's sources

 private:
  friend class Reactor;
  explicit DelayedCall(std::shared_ptr<State> state);

  std::shared_ptr<State> state_;
};

/// Keeps a signal subscription alive; the subscription ends (and its libuv handle is closed) when the last copy
/// is destroyed or stop() is called. Loop thread only.
class CPPD_API SignalWatch {
 public:
  SignalWatch();
  ~SignalWatch();
  SignalWatch(SignalWatch&&) noexcept;
  SignalWatch& operator=(SignalWatch&&) noexcept;

  void stop();

  struct State;  // defined in the SDK's sources

 private:
  friend class Reactor;
  explicit SignalWatch(std::shared_ptr<State> state);

  std::shared_ptr<State> state_;
};

/// The event loop (libuv underneath; no libuv type is visible here). One Reactor per thread that runs one;
/// processes normally use globalReactor(). Every method is loop-thread-only unless it says otherwise.
class CPPD_API Reactor {
 public:
  Reactor();
  /// Closes whatever handles are still open and runs their close callbacks before freeing the loop.
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  /// Runs the loop until stop() is called or nothing is left to do (no active handle, no pending call).
  /// Callbacks that throw are caught, logged as errors, and the loop goes on.
  void run();

  /// Makes run() return after the current iteration. Does nothing when run() is not running.
  void stop() noexcept;

  bool isRunning() const noexcept;

  /// Calls fn once, after delay (counted from now, whole milliseconds), on the loop thread. Calls due at the same
  /// time run in the order they were scheduled. On a reactor closed by tryClose() it logs a warning and returns
  /// an inactive DelayedCall.
  DelayedCall callLater(std::chrono::milliseconds delay, std::function<void()> fn);

  /// Calls fn once, on the loop thread, after the loop has polled for events at least once since this call (without
  /// waiting in that poll): every signal the process had taken in before the call has reached its onSignal handler
  /// by then. With the signals one acts on blocked first, nothing can be taken in after the call, and fn sees the
  /// last of them (a supervisor deciding to exec). callLater(0) does not promise this: libuv 1.44 runs
  /// a 0 ms call made from another timer callback in the same pass, before any poll. On a reactor closed by
  /// tryClose() it logs a warning and returns an inactive DelayedCall.
  DelayedCall callAfterPoll(std::function<void()> fn);

  /// Calls fn on the loop thread, soon; calls posted by one thread run in the order posted. Safe to call from any
  /// thread (not from a signal handler). A pending call does not keep the loop alive by itself, but run() runs
  /// every call posted before it finds nothing left to do. Calls still pending when the reactor is destroyed
  /// never run.
  void callFromThread(std::function<void()> fn);

  /// Runs work on a thread of libuv's thread pool (shared by the process; UV_THREADPOOL_SIZE threads, 4 by
  /// default), then done on the loop thread: for blocking or CPU-heavy work (a password hash) that must not hold
  /// up every other connection. Safe to call from the loop thread only. The pool's threads, when this call makes
  /// them, block every signal: signals stay the loop thread's.
  ///
  /// Contract:
  /// - work runs on another thread: it must not touch the reactor, protocols or transports, only the data it
  ///   owns (capture results in a shared object that done reads). An exception from work is logged and done
  ///   still runs.
  /// - done runs exactly once, on the loop thread, after work returned, in a later loop iteration (never inside
  ///   this call); an exception from done is logged and the loop goes on.
  /// - Nothing is cancelled when the caller goes away: a connection that may close while work is in flight
  ///   captures a weak_ptr to itself in done and does nothing when it is gone (or closed).
  /// - In-flight work keeps run() going and makes tryClose() return false until done has run; the destructor
  ///   waits for it. On a reactor closed by tryClose() it logs a warning and runs neither.
  void runInThreadPool(std::function<void()> work, std::function<void()> done);

  /// Delivers signum to handler as a loop event (the real handler only wakes the loop). A watch keeps the loop
  /// alive while it exists; several watches of one signal all receive it. Throws cppd::Error naming the signal
  /// and the libuv error when the signal cannot be watched (e.g. an invalid number).
  SignalWatch onSignal(int signum, std::function<void(int signum)> handler);

  /// "libuv 1.44.2 (epoll)": what runs underneath, for the start-up log line.
  std::string backendName() const;

  /// Handles not yet closed, including ones closing whose close callback has not run yet; the reactor's own
  /// wake-up handle for callFromThread is not counted (tests assert this is 0 at the end).
  std::size_t openHandleCount() const;

  /// Runs one non-blocking loop pass (pending close callbacks, due timers), then closes the loop if no handle and
  /// no callFromThread call is left. Returns false (and leaves the reactor usable) when something is still open.
  /// After it returned true, run() throws and new calls are ignored with a warning.
  bool tryClose();

  /// Closes every handle the SDK still has open (connections still in flight, listeners, timers, signal
  /// watches) and runs their close callbacks now, so protocols get connectionLost and factories stop while
  /// the objects they call into are still alive: twistd's disconnectAll after the main loop. The reactor stays
  /// usable. Loop thread only, outside run().
  void closeAll();

  /// Re-creates the kernel state of the loop (epoll instance, signal pipe) in a forked child, so the child's
  /// loop no longer shares it with the parent (uv_loop_fork). The runner calls it in the daemon after fork;
  /// throws cppd::Error if libuv cannot.
  void afterFork();

  struct Impl;  // the libuv side, defined in the SDK's sources

 private:
  friend struct detail::ReactorAccess;
  std::unique_ptr<Impl> impl_;
};

/// The process-wide reactor that the runner runs and that services use by default.
CPPD_API Reactor& globalReactor();

}  // namespace cppd
