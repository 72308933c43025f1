// The libuv-backed reactor: timers, signals as loop events, calls from other threads.
#include "detail/reactor_impl.hpp"

#include <unistd.h>

#include <csignal>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include <cppd/log.hpp>

#include "detail/log_wait_flush.hpp"

namespace cppd {

/// Shared by every copy of a DelayedCall and by the handle that makes the call (a timer or an idle handle).
struct DelayedCall::State {
  detail::LoopHandle* handle = nullptr;  // null once the call ran, was cancelled, or its reactor closed it
  std::function<void()> fn;
};

/// Shared by a SignalWatch and its signal handle.
struct SignalWatch::State {
  detail::LoopHandle* handle = nullptr;  // null once stopped or closed by the reactor
};

namespace detail {

LoopHandle::LoopHandle(Reactor::Impl& impl) noexcept : impl_(impl), next_(impl.handles) {
  if (next_ != nullptr) next_->prev_ = this;
  impl.handles = this;
}

LoopHandle::~LoopHandle() {
  if (prev_ != nullptr) {
    prev_->next_ = next_;
  } else {
    impl_.handles = next_;
  }
  if (next_ != nullptr) next_->prev_ = prev_;
}

void LoopHandle::close() noexcept {
  if (closing_) return;
  closing_ = true;
  onClose();
  uv_close(uvHandle(), &LoopHandle::onClosed);
}

void LoopHandle::onClosed(uv_handle_t* handle) noexcept {
  auto* self = static_cast<LoopHandle*>(handle->data);
  self->afterClose();
  delete self;
}

void logCallbackFailure(std::string_view what, const char* reason) noexcept {
  try {
    log::error("{} failed: {}", what, reason);
  } catch (...) {
    // Logging itself failed (out of memory): stderr is the last place the failure can still be seen.
    static constexpr std::string_view message = "cppd: a loop callback failed and the failure could not be logged\n";
    [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, message.data(), message.size());
  }
}

}  // namespace detail

namespace {

#if defined(__linux__)
constexpr const char* kPollBackend = "epoll";
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
constexpr const char* kPollBackend = "kqueue";
#else
constexpr const char* kPollBackend = "poll";
#endif

std::string signalName(int signum) {
  const char* abbrev = sigabbrev_np(signum);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", signum);
}

template <typename Derived>
Derived& fromData(uv_handle_t* handle) {
  return static_cast<Derived&>(*static_cast<detail::LoopHandle*>(handle->data));
}

// What a DelayedCall's handle shares, whichever libuv handle makes the call: the call's state, released as soon as
// the call can no longer run, and running it once.
class DelayedCallHandle : public detail::LoopHandle {
 protected:
  DelayedCallHandle(Reactor::Impl& impl, std::shared_ptr<DelayedCall::State> state)
      : LoopHandle(impl), state_(std::move(state)) {
    state_->handle = this;
  }

  // Closes the handle (the call is no longer active() while it runs; this lives until the close callback) and
  // runs the call.
  void runCall(std::string_view what) noexcept {
    std::function<void()> fn = std::move(state_->fn);
    close();
    detail::runGuarded(what, fn);
  }

 private:
  void onClose() noexcept override {
    state_->handle = nullptr;
    state_->fn = nullptr;
  }

  std::shared_ptr<DelayedCall::State> state_;
};

class TimerHandle final : public DelayedCallHandle {
 public:
  TimerHandle(Reactor::Impl& impl, std::shared_ptr<DelayedCall::State> state)
      : DelayedCallHandle(impl, std::move(state)) {
    uv_timer_init(&impl.loop, &timer_);  // only fails for a null loop
    timer_.data = static_cast<detail::LoopHandle*>(this);
  }

  void start(std::uint64_t milliseconds) noexcept { uv_timer_start(&timer_, &TimerHandle::onTimer, milliseconds, 0); }
  uv_handle_t* uvHandle() noexcept override { return reinterpret_cast<uv_handle_t*>(&timer_); }

 private:
  static void onTimer(uv_timer_t* timer) noexcept {
    fromData<TimerHandle>(reinterpret_cast<uv_handle_t*>(timer)).runCall("callLater call");
  }

  uv_timer_t timer_{};
};

// callAfterPoll: an idle handle, which also keeps the poll it waits for from blocking. Its first callback runs
// before the poll of an iteration that began after the call (libuv runs a handle started during the idle phase
// from the next iteration on); its second runs in the next iteration, after that poll dispatched every signal
// libuv's handler had written to the loop's signal pipe.
class AfterPollHandle final : public DelayedCallHandle {
 public:
  AfterPollHandle(Reactor::Impl& impl, std::shared_ptr<DelayedCall::State> state)
      : DelayedCallHandle(impl, std::move(state)) {
    uv_idle_init(&impl.loop, &idle_);  // only fails for a null loop
    idle_.data = static_cast<detail::LoopHandle*>(this);
    uv_idle_start(&idle_, &AfterPollHandle::onIdle);
  }

  uv_handle_t* uvHandle() noexcept override { return reinterpret_cast<uv_handle_t*>(&idle_); }

 private:
  static void onIdle(uv_idle_t* idle) noexcept {
    auto& self = fromData<AfterPollHandle>(reinterpret_cast<uv_handle_t*>(idle));
    if (!self.polled_) {
      self.polled_ = true;  // the poll that follows began after the call
      return;
    }
    self.runCall("callAfterPoll call");
  }

  uv_idle_t idle_{};
  bool polled_ = false;
};

class SignalHandle final : public detail::LoopHandle {
 public:
  static void start(Reactor::Impl& impl, const std::shared_ptr<SignalWatch::State>& state, int signum,
                    std::function<void(int)> handler) {
    auto* self = new SignalHandle(impl, state, std::move(handler), signum);
    int status = uv_signal_init(&impl.loop, &self->signal_);
    if (status != 0) {
      delete self;  // never reached libuv, so nothing to close
      throw detail::uvError("watch signal", signalName(signum), status);
    }
    self->signal_.data = static_cast<detail::LoopHandle*>(self);
    state->handle = self;
    status = uv_signal_start(&self->signal_, &SignalHandle::onSignal, signum);
    if (status != 0) {
      self->close();
      throw detail::uvError("watch signal", signalName(signum), status);
    }
  }

  uv_handle_t* uvHandle() noexcept override { return reinterpret_cast<uv_handle_t*>(&signal_); }

 private:
  SignalHandle(Reactor::Impl& impl, std::shared_ptr<SignalWatch::State> state, std::function<void(int)> handler,
               int signum)
      : LoopHandle(impl),
        state_(std::move(state)),
        handler_(std::move(handler)),
        what_(fmt::format("onSignal handler for {}", signalName(signum))) {}

  void onClose() noexcept override {
    state_->handle = nullptr;
    handler_ = nullptr;
  }

  static void onSignal(uv_signal_t* signal, int signum) noexcept {
    auto& self = fromData<SignalHandle>(reinterpret_cast<uv_handle_t*>(signal));
    // A copy, because the handler may stop its own watch, which drops handler_ while it runs.
    std::function<void(int)> handler = self.handler_;
    detail::runGuarded(self.what_, [&] { handler(signum); });
  }

  uv_signal_t signal_{};
  std::shared_ptr<SignalWatch::State> state_;
  std::function<void(int)> handler_;
  std::string what_;
};

// One runInThreadPool call: the libuv request and both functions. Freed in the after-work callback.
struct PoolWork {
  uv_work_t request{};
  std::function<void()> work;
  std::function<void()> done;

  static void onWork(uv_work_t* request) noexcept {
    detail::runGuarded("runInThreadPool work", static_cast<PoolWork*>(request->data)->work);
  }
  static void onDone(uv_work_t* request, int) noexcept {
    std::unique_ptr<PoolWork> self(static_cast<PoolWork*>(request->data));
    self->work = nullptr;  // its captures are released on the loop thread
    detail::runGuarded("runInThreadPool done", self->done);
  }
};

void onWakeup(uv_async_t* async) noexcept { static_cast<Reactor::Impl*>(async->data)->drainQueue(); }

void onLogFlush(uv_prepare_t*) noexcept { detail::flushBeforeWait(); }

void initWakeup(Reactor::Impl& impl) {
  int status = uv_async_init(&impl.loop, &impl.wakeup, &onWakeup);
  if (status != 0) throw detail::uvError("create", "event loop wake-up handle", status);
  impl.wakeup.data = &impl;
  // An idle reactor must be able to finish run(); calls queued while nothing else is alive are run by run().
  uv_unref(reinterpret_cast<uv_handle_t*>(&impl.wakeup));
  uv_prepare_init(&impl.loop, &impl.logFlush);  // only fails for a null loop
  uv_prepare_start(&impl.logFlush, &onLogFlush);
  uv_unref(reinterpret_cast<uv_handle_t*>(&impl.logFlush));
}

bool isInternal(const Reactor::Impl& impl, const uv_handle_t* handle) noexcept {
  return handle == reinterpret_cast<const uv_handle_t*>(&impl.wakeup) ||
         handle == reinterpret_cast<const uv_handle_t*>(&impl.logFlush);
}

}  // namespace

Reactor::Impl::Impl() {
  int status = uv_loop_init(&loop);
  if (status != 0) throw detail::uvError("create", "event loop", status);
  try {
    initWakeup(*this);
  } catch (...) {
    uv_loop_close(&loop);
    throw;
  }
}

Reactor::Impl::~Impl() {
  if (closed.exchange(true)) return;
  closeAllHandles();
  int status = uv_loop_close(&loop);
  if (status != 0) detail::logCallbackFailure("close event loop", uv_strerror(status));
}

void Reactor::Impl::drainQueue() {
  {
    std::lock_guard lock(queueMutex);
    draining.swap(queue);
  }
  for (auto& call : draining) detail::runGuarded("callFromThread call", call);
  draining.clear();
}

bool Reactor::Impl::queueEmpty() {
  std::lock_guard lock(queueMutex);
  return queue.empty();
}

void Reactor::Impl::closeAllHandles() noexcept {
  for (detail::LoopHandle* handle = handles; handle != nullptr; handle = handle->next_) handle->close();
  uv_walk(
      &loop,
      [](uv_handle_t* handle, void* arg) {
        if (uv_is_closing(handle) != 0) return;
        if (!isInternal(*static_cast<Impl*>(arg), handle)) {
          // Whoever opened it forgot to close it; its memory is theirs, so only close it here.
          detail::logCallbackFailure("closing the event loop",
                                     fmt::format("a {} handle was still open", uv_handle_type_name(handle->type))
                                         .c_str());
        }
        uv_close(handle, nullptr);
      },
      this);
  uv_run(&loop, UV_RUN_DEFAULT);
}

std::size_t Reactor::Impl::countOpenHandles() const noexcept {
  struct Count {
    const Impl* impl;
    std::size_t open;
  } count{this, 0};
  uv_walk(
      const_cast<uv_loop_t*>(&loop),
      [](uv_handle_t* handle, void* arg) {
        auto* counter = static_cast<Count*>(arg);
        if (!isInternal(*counter->impl, handle)) ++counter->open;
      },
      &count);
  return count.open;
}

DelayedCall::DelayedCall() = default;
DelayedCall::~DelayedCall() = default;
DelayedCall::DelayedCall(const DelayedCall&) = default;
DelayedCall& DelayedCall::operator=(const DelayedCall&) = default;
DelayedCall::DelayedCall(std::shared_ptr<State> state) : state_(std::move(state)) {}

void DelayedCall::cancel() {
  if (state_ && state_->handle != nullptr) state_->handle->close();
}

bool DelayedCall::active() const noexcept { return state_ && state_->handle != nullptr; }

SignalWatch::SignalWatch() = default;
SignalWatch::~SignalWatch() { stop(); }
SignalWatch::SignalWatch(SignalWatch&&) noexcept = default;
SignalWatch::SignalWatch(std::shared_ptr<State> state) : state_(std::move(state)) {}

SignalWatch& SignalWatch::operator=(SignalWatch&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}

void SignalWatch::stop() {
  if (state_ && state_->handle != nullptr) state_->handle->close();
  state_.reset();
}

Reactor::Reactor() : impl_(std::make_unique<Impl>()) {}
Reactor::~Reactor() = default;

void Reactor::run() {
  Impl& impl = *impl_;
  if (impl.closed) throw Error(ErrorKind::software, "run reactor: the reactor was closed by tryClose()");
  if (impl.running) throw Error(ErrorKind::software, "run reactor: it is already running");
  impl.running = true;
  impl.stopping = false;
  // Lines logged on this thread while the loop runs are held back and written at most once per two iterations
  // (logFlush, before each wait; see flushBeforeWait) and when run() returns, not one write(2) per line.
  LogBatch batch;
  // uv_run returns when no referenced handle is left; the wake-up handle is unreferenced, so calls queued by
  // callFromThread while the loop was idle (or not yet running) are drained here, between passes.
  do {
    impl.drainQueue();
    if (impl.stopping) break;
    impl.polling = true;
    uv_run(&impl.loop, UV_RUN_DEFAULT);
    impl.polling = false;
  } while (!impl.stopping && !impl.queueEmpty());
  impl.running = false;
  impl.stopping = false;
}

void Reactor::stop() noexcept {
  Impl& impl = *impl_;
  if (!impl.running) return;
  impl.stopping = true;
  // Only inside uv_run: a stop flag set outside it would survive into the next run() and end it at once.
  if (impl.polling) uv_stop(&impl.loop);
}

bool Reactor::isRunning() const noexcept { return impl_->running; }

DelayedCall Reactor::callLater(std::chrono::milliseconds delay, std::function<void()> fn) {
  Impl& impl = *impl_;
  if (impl.closed) {
    log::warn("callLater on a closed reactor: the call will not run");
    return DelayedCall();
  }
  auto state = std::make_shared<DelayedCall::State>();
  state->fn = std::move(fn);
  auto* timer = new TimerHandle(impl, state);
  // libuv measures timeouts from the time cached at the start of the iteration; the delay counts from now.
  uv_update_time(&impl.loop);
  timer->start(delay.count() > 0 ? static_cast<std::uint64_t>(delay.count()) : 0);
  return DelayedCall(std::move(state));
}

DelayedCall Reactor::callAfterPoll(std::function<void()> fn) {
  Impl& impl = *impl_;
  if (impl.closed) {
    log::warn("callAfterPoll on a closed reactor: the call will not run");
    return DelayedCall();
  }
  auto state = std::make_shared<DelayedCall::State>();
  state->fn = std::move(fn);
  new AfterPollHandle(impl, state);  // owned by the loop until its close callback
  return DelayedCall(std::move(state));
}

void Reactor::callFromThread(std::function<void()> fn) {
  Impl& impl = *impl_;
  if (impl.closed) {
    log::warn("callFromThread on a closed reactor: the call will not run");
    return;
  }
  {
    std::lock_guard lock(impl.queueMutex);
    impl.queue.push_back(std::move(fn));
  }
  uv_async_send(&impl.wakeup);
}

void Reactor::runInThreadPool(std::function<void()> work, std::function<void()> done) {
  Impl& impl = *impl_;
  if (impl.closed) {
    log::warn("runInThreadPool on a closed reactor: the work will not run");
    return;
  }
  auto item = std::make_unique<PoolWork>();
  item->work = std::move(work);
  item->done = std::move(done);
  item->request.data = item.get();
  // libuv makes the pool's threads in its first uv_queue_work, with the calling thread's signal mask: made with
  // every signal blocked, none of them ever takes in a signal meant for the loop (a supervisor about to exec
  // blocks its signals on the loop thread and counts on no other thread taking one in).
  sigset_t all;
  sigset_t previous;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const int status = uv_queue_work(&impl.loop, &item->request, &PoolWork::onWork, &PoolWork::onDone);
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (status != 0) throw detail::uvError("queue work on", "the thread pool", status);
  item.release();  // owned by the request until onDone
}

SignalWatch Reactor::onSignal(int signum, std::function<void(int signum)> handler) {
  Impl& impl = *impl_;
  if (impl.closed) {
    log::warn("onSignal({}) on a closed reactor: the signal will not be watched", signalName(signum));
    return SignalWatch();
  }
  auto state = std::make_shared<SignalWatch::State>();
  SignalHandle::start(impl, state, signum, std::move(handler));
  return SignalWatch(std::move(state));
}

std::string Reactor::backendName() const { return fmt::format("libuv {} ({})", uv_version_string(), kPollBackend); }

std::size_t Reactor::openHandleCount() const { return impl_->closed ? 0 : impl_->countOpenHandles(); }

void Reactor::Impl::closeOwnedHandles() noexcept {
  for (detail::LoopHandle* handle = handles; handle != nullptr; handle = handle->next_) handle->close();
}

void Reactor::closeAll() {
  Impl& impl = *impl_;
  // Close callbacks run in the next loop iteration and may close further handles (a connection's end stops its
  // factory and port); iterate without blocking until the SDK's handles are all gone. Bounded, so a handle
  // that never finishes closing cannot hang the shutdown.
  for (int pass = 0; pass < 100 && impl.handles != nullptr; ++pass) {
    impl.closeOwnedHandles();
    uv_run(&impl.loop, UV_RUN_NOWAIT);
  }
}

void Reactor::afterFork() {
  int status = uv_loop_fork(&impl_->loop);
  if (status != 0) throw detail::uvError("uv_loop_fork", "the global reactor", status);
}

bool Reactor::tryClose() {
  Impl& impl = *impl_;
  if (impl.closed) return true;
  if (impl.running) return false;
  uv_run(&impl.loop, UV_RUN_NOWAIT);  // runs the close callbacks of handles closed since the last pass
  if (impl.countOpenHandles() != 0 || !impl.queueEmpty()) return false;
  uv_close(reinterpret_cast<uv_handle_t*>(&impl.wakeup), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&impl.logFlush), nullptr);
  uv_run(&impl.loop, UV_RUN_NOWAIT);
  if (uv_loop_close(&impl.loop) != 0) {
    // A request (not a handle) is still in flight: reopen the wake-up handle so the reactor stays usable.
    initWakeup(impl);
    return false;
  }
  impl.closed = true;
  return true;
}

Reactor& globalReactor() {
  static Reactor reactor;
  return reactor;
}

}  // namespace cppd
