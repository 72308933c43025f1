#pragma once

// The reactor's libuv side, shared by the SDK's own sources (networking reaches the loop through uvLoop()).
// Never include this from a public header: uv.h must not leak into sdk/include/cppd.

#include <uv.h>

#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cppd/error.hpp>
#include <cppd/reactor.hpp>

namespace cppd {
namespace detail {

/// The SDK's side door into Reactor: its libuv side, which no public header may show.
struct ReactorAccess {
  static Reactor::Impl& impl(Reactor& reactor) noexcept { return *reactor.impl_; }
};

/// Base for a libuv handle the SDK owns. The handle's data points at this base; close() calls uv_close and the
/// close callback deletes the object, so handle memory is freed only after libuv is done with it. Every live
/// LoopHandle is linked into its reactor, which closes the ones still open when it is destroyed. Loop thread only.
class LoopHandle {
 public:
  explicit LoopHandle(Reactor::Impl& impl) noexcept;
  explicit LoopHandle(Reactor& reactor) noexcept : LoopHandle(ReactorAccess::impl(reactor)) {}
  LoopHandle(const LoopHandle&) = delete;
  LoopHandle& operator=(const LoopHandle&) = delete;

  /// Starts closing; the object is deleted in the close callback. Calling it again does nothing.
  void close() noexcept;
  bool closing() const noexcept { return closing_; }

  /// The handle itself; the derived class owns the storage and sets handle->data to this base.
  virtual uv_handle_t* uvHandle() noexcept = 0;

 protected:
  virtual ~LoopHandle();
  /// Runs in close(), before uv_close: drop callbacks and back-pointers that must not be used any more.
  virtual void onClose() noexcept {}
  /// Runs in libuv's close callback, just before the object is deleted: the handle is closed, the object still
  /// whole (a connection tells its protocol connectionLost here, not from a destructor).
  virtual void afterClose() noexcept {}

 private:
  friend struct cppd::Reactor::Impl;
  static void onClosed(uv_handle_t* handle) noexcept;

  Reactor::Impl& impl_;
  LoopHandle* prev_ = nullptr;
  LoopHandle* next_ = nullptr;
  bool closing_ = false;
};

/// "<operation> <target>: <libuv message> (<ERRNAME>)", e.g. "listen tcp:8000: address already in use
/// (EADDRINUSE)", as an Error whose kind follows the status (EACCES/EPERM -> permission, ENOENT -> noInput).
/// Inline so that unit tests, which see only exported symbols of libcppd, can check the wording.
inline Error uvError(const std::string& operation, const std::string& target, int status) {
  ErrorKind kind = ErrorKind::os;
  if (status == UV_EACCES || status == UV_EPERM) kind = ErrorKind::permission;
  if (status == UV_ENOENT) kind = ErrorKind::noInput;
  return Error(kind, operation + " " + target + ": " + uv_strerror(status) + " (" + uv_err_name(status) + ")");
}

}  // namespace detail

struct Reactor::Impl {
  Impl();
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  /// Runs the calls queued by callFromThread, each guarded. Loop thread only.
  void drainQueue();
  bool queueEmpty();
  /// Closes every handle not yet closing (owned ones with their own callbacks) and waits for the close callbacks.
  void closeAllHandles() noexcept;
  /// Starts closing every handle the SDK owns (close callbacks run in a later loop iteration).
  void closeOwnedHandles() noexcept;
  std::size_t countOpenHandles() const noexcept;

  uv_loop_t loop{};
  // Wakes the loop for callFromThread. Unreferenced, so an idle reactor with only this handle stops running;
  // run() drains calls queued while it was not polling. Part of Impl: closed before Impl is freed.
  uv_async_t wakeup{};
  // Before each wait for I/O, writes the log's held-back lines once they have waited through one wait already
  // (detail::flushBeforeWait): one write per two iterations. Unreferenced and internal, like wakeup.
  uv_prepare_t logFlush{};
  std::mutex queueMutex;
  std::vector<std::function<void()>> queue;
  std::vector<std::function<void()>> draining;  // drainQueue()'s batch, kept to reuse its capacity
  detail::LoopHandle* handles = nullptr;  // intrusive list of owned handles not yet closed
  bool running = false;   // inside run()
  bool polling = false;   // inside uv_run(), where uv_stop() takes effect
  bool stopping = false;  // stop() was called during this run()
  // Set by tryClose() and at destruction; read by callFromThread() on any thread.
  std::atomic<bool> closed{false};
};

namespace detail {

/// The libuv loop underneath reactor, for the SDK's networking code. Loop thread only.
inline uv_loop_t* uvLoop(Reactor& reactor) noexcept { return &ReactorAccess::impl(reactor).loop; }

/// Logs "<what> failed: <reason>" as an error; never throws (falls back to stderr).
void logCallbackFailure(std::string_view what, const char* reason) noexcept;

/// Runs fn, catching and logging anything it throws. Every libuv callback trampoline goes through it, since no
/// exception may cross into libuv.
template <typename Fn>
void runGuarded(std::string_view what, Fn&& fn) noexcept {
  try {
    std::forward<Fn>(fn)();
  } catch (const std::exception& e) {
    logCallbackFailure(what, e.what());
  } catch (...) {
    logCallbackFailure(what, "unknown exception");
  }
}

}  // namespace detail
}  // namespace cppd
