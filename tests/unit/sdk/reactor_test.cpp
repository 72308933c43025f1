#include <cppd/log.hpp>
#include <cppd/reactor.hpp>

#include <atomic>
#include <csignal>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "detail/reactor_impl.hpp"

using namespace std::chrono_literals;
using cppd::Reactor;

namespace {

// Ends the test's run() after a generous time if the event under test never comes, so a bug fails the test
// instead of hanging it. Cancelled at the end so the loop can close.
class Deadline {
 public:
  explicit Deadline(Reactor& reactor, std::chrono::milliseconds limit = 5s)
      : call_(reactor.callLater(limit, [this, &reactor] {
          expired_ = true;
          reactor.stop();
        })) {}
  ~Deadline() { call_.cancel(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  bool expired() const { return expired_; }
  void cancel() { call_.cancel(); }

 private:
  bool expired_ = false;
  cppd::DelayedCall call_;
};

// Every loop test ends here: no handle may be left open and the loop must close (libuv test/task.h).
void requireLoopCloses(Reactor& reactor) {
  REQUIRE(reactor.tryClose());
  REQUIRE(reactor.openHandleCount() == 0);
}

class ErrorCapture : public cppd::ILogObserver {
 public:
  ErrorCapture() { cppd::log::reset(); }
  void observe(const cppd::LogEvent& event) override {
    if (event.level >= cppd::LogLevel::error) errors.emplace_back(event.text);
  }
  std::vector<std::string> errors;
};

}  // namespace

TEST_CASE("callLater runs the call once after the delay", "[reactor]") {
  Reactor reactor;
  int calls = 0;
  auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration elapsed{};
  cppd::DelayedCall call = reactor.callLater(30ms, [&] {
    ++calls;
    elapsed = std::chrono::steady_clock::now() - start;
  });
  CHECK(call.active());
  reactor.run();  // returns once nothing is left to do
  CHECK(calls == 1);
  CHECK(elapsed >= 29ms);  // libuv counts whole milliseconds
  CHECK_FALSE(call.active());
  requireLoopCloses(reactor);
}

TEST_CASE("callLater runs calls in order of due time, equal delays in the order they were scheduled", "[reactor]") {
  Reactor reactor;
  std::string order;
  reactor.callLater(20ms, [&] { order += 'd'; });
  reactor.callLater(0ms, [&] { order += 'a'; });
  reactor.callLater(0ms, [&] { order += 'b'; });
  reactor.callLater(10ms, [&] { order += 'c'; });
  reactor.run();
  CHECK(order == "abcd");
  requireLoopCloses(reactor);
}

TEST_CASE("a cancelled call never runs and cancelling twice does nothing", "[reactor]") {
  Reactor reactor;
  bool ran = false;
  cppd::DelayedCall call = reactor.callLater(10ms, [&] { ran = true; });
  cppd::DelayedCall copy = call;
  copy.cancel();
  CHECK_FALSE(call.active());
  call.cancel();
  reactor.run();
  CHECK_FALSE(ran);
  requireLoopCloses(reactor);
}

TEST_CASE("a call can cancel another that is due later", "[reactor]") {
  Reactor reactor;
  bool laterRan = false;
  cppd::DelayedCall later = reactor.callLater(50ms, [&] { laterRan = true; });
  reactor.callLater(1ms, [&] { later.cancel(); });
  reactor.run();
  CHECK_FALSE(laterRan);
  requireLoopCloses(reactor);
}

TEST_CASE("a DelayedCall is no longer active while its call runs", "[reactor]") {
  Reactor reactor;
  cppd::DelayedCall call;
  bool activeInside = true;
  call = reactor.callLater(0ms, [&] { activeInside = call.active(); });
  reactor.run();
  CHECK_FALSE(activeInside);
  requireLoopCloses(reactor);
}

TEST_CASE("a default DelayedCall is inactive and cancel does nothing", "[reactor]") {
  cppd::DelayedCall call;
  CHECK_FALSE(call.active());
  call.cancel();
}

TEST_CASE("run returns at once when nothing is scheduled", "[reactor]") {
  Reactor reactor;
  reactor.run();
  CHECK_FALSE(reactor.isRunning());
  requireLoopCloses(reactor);
}

TEST_CASE("isRunning is true only inside run", "[reactor]") {
  Reactor reactor;
  bool runningInside = false;
  reactor.callLater(0ms, [&] { runningInside = reactor.isRunning(); });
  CHECK_FALSE(reactor.isRunning());
  reactor.run();
  CHECK(runningInside);
  CHECK_FALSE(reactor.isRunning());
  requireLoopCloses(reactor);
}

TEST_CASE("stop makes run return even though handles are still open", "[reactor]") {
  Reactor reactor;
  bool longRan = false;
  cppd::DelayedCall longCall = reactor.callLater(1h, [&] { longRan = true; });
  reactor.callLater(5ms, [&] { reactor.stop(); });
  reactor.run();
  CHECK_FALSE(longRan);
  CHECK(longCall.active());
  CHECK_FALSE(reactor.tryClose());  // still open: refused, reactor still usable
  CHECK(reactor.openHandleCount() == 1);
  longCall.cancel();
  requireLoopCloses(reactor);
}

TEST_CASE("a reactor stopped once can run again", "[reactor]") {
  Reactor reactor;
  int runs = 0;
  reactor.callLater(0ms, [&] {
    ++runs;
    reactor.stop();
  });
  reactor.run();
  reactor.callLater(0ms, [&] { ++runs; });
  reactor.run();
  CHECK(runs == 2);
  requireLoopCloses(reactor);
}

TEST_CASE("callFromThread runs a call posted from another thread on the loop thread", "[reactor]") {
  Reactor reactor;
  Deadline deadline(reactor);
  std::thread::id ranOn;
  std::thread poster([&] {
    reactor.callFromThread([&] {
      ranOn = std::this_thread::get_id();
      reactor.stop();
    });
  });
  reactor.run();
  poster.join();
  CHECK_FALSE(deadline.expired());
  CHECK(ranOn == std::this_thread::get_id());
  deadline.cancel();
  requireLoopCloses(reactor);
}

TEST_CASE("calls posted from several threads all run, each thread's in order", "[reactor]") {
  constexpr int kThreads = 4;
  constexpr int kCallsEach = 1000;
  Reactor reactor;
  Deadline deadline(reactor);
  std::vector<int> lastSeen(kThreads, -1);
  int total = 0;
  bool ordered = true;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kCallsEach; ++i) {
        reactor.callFromThread([&, t, i] {
          ordered = ordered && lastSeen[t] == i - 1;
          lastSeen[t] = i;
          if (++total == kThreads * kCallsEach) reactor.stop();
        });
      }
    });
  }
  reactor.run();
  for (auto& poster : posters) poster.join();
  CHECK_FALSE(deadline.expired());
  CHECK(total == kThreads * kCallsEach);
  CHECK(ordered);
  deadline.cancel();
  requireLoopCloses(reactor);
}

TEST_CASE("a call posted before run runs even though the wake-up handle keeps nothing alive", "[reactor]") {
  Reactor reactor;
  bool ran = false;
  reactor.callFromThread([&] { ran = true; });
  reactor.run();
  CHECK(ran);
  requireLoopCloses(reactor);
}

TEST_CASE("onSignal delivers the signal as a loop event, not inside the signal handler", "[reactor]") {
  Reactor reactor;
  Deadline deadline(reactor);
  int received = 0;
  cppd::SignalWatch watch = reactor.onSignal(SIGUSR2, [&](int signum) {
    received = signum;
    reactor.stop();
  });
  REQUIRE(std::raise(SIGUSR2) == 0);
  CHECK(received == 0);  // nothing runs until the loop does
  reactor.run();
  CHECK_FALSE(deadline.expired());
  CHECK(received == SIGUSR2);
  watch.stop();
  deadline.cancel();
  requireLoopCloses(reactor);
}

TEST_CASE("two watches of the same signal both receive it, and a stopped one no longer does", "[reactor]") {
  Reactor reactor;
  Deadline deadline(reactor);
  int first = 0;
  int second = 0;
  cppd::SignalWatch firstWatch = reactor.onSignal(SIGUSR2, [&](int) { ++first; });
  cppd::SignalWatch secondWatch = reactor.onSignal(SIGUSR2, [&](int) {
    if (++second == 2) reactor.stop();
  });
  REQUIRE(std::raise(SIGUSR2) == 0);
  reactor.callLater(20ms, [&] {
    firstWatch.stop();
    std::raise(SIGUSR2);
  });
  reactor.run();
  CHECK_FALSE(deadline.expired());
  CHECK(first == 1);
  CHECK(second == 2);
  secondWatch.stop();
  deadline.cancel();
  requireLoopCloses(reactor);
}

// A supervisor blocks its signals, then acts once the loop has dispatched every one already taken in: the
// signal below is taken in (libuv's handler writes to the loop's pipe) but not yet dispatched when callAfterPoll
// is called, from each kind of callback a caller may be in.
namespace {

class BlockedSignal {
 public:
  explicit BlockedSignal(int signum) {
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, signum);
    ::pthread_sigmask(SIG_BLOCK, &set, &previous_);
  }
  ~BlockedSignal() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  BlockedSignal(const BlockedSignal&) = delete;
  BlockedSignal& operator=(const BlockedSignal&) = delete;

 private:
  sigset_t previous_{};
};

void requireCallAfterPollFollowsTheSignal(const std::function<void(Reactor&, std::function<void()>)>& from) {
  Reactor reactor;
  Deadline deadline(reactor);
  int received = 0;
  int receivedBeforeTheCall = -1;
  cppd::SignalWatch watch = reactor.onSignal(SIGUSR2, [&](int) { ++received; });
  std::optional<BlockedSignal> blocked;
  from(reactor, [&] {
    REQUIRE(std::raise(SIGUSR2) == 0);  // taken in on this thread before raise returns
    blocked.emplace(SIGUSR2);
    reactor.callAfterPoll([&] {
      receivedBeforeTheCall = received;
      reactor.stop();
    });
  });
  reactor.run();
  blocked.reset();
  CHECK_FALSE(deadline.expired());
  CHECK(receivedBeforeTheCall == 1);
  watch.stop();
  deadline.cancel();
  requireLoopCloses(reactor);
}

}  // namespace

TEST_CASE("callAfterPoll runs after every signal taken in before it was called has been dispatched", "[reactor]") {
  SECTION("called from a timer callback (a 0 ms callLater made there would run before the poll)") {
    requireCallAfterPollFollowsTheSignal([](Reactor& reactor, std::function<void()> act) {
      reactor.callLater(0ms, std::move(act));
    });
  }
  SECTION("called from a callback of the poll phase (runInThreadPool's done), after the poll that woke it") {
    requireCallAfterPollFollowsTheSignal([](Reactor& reactor, std::function<void()> act) {
      reactor.runInThreadPool([] {}, std::move(act));
    });
  }
  SECTION("called from another callAfterPoll call") {
    requireCallAfterPollFollowsTheSignal([](Reactor& reactor, std::function<void()> act) {
      reactor.callAfterPoll(std::move(act));
    });
  }
}

TEST_CASE("callAfterPoll does not wait in its poll, runs once, and a cancelled call never runs", "[reactor]") {
  Reactor reactor;
  Deadline deadline(reactor);  // the only other handle: a poll that waited would wait for it
  int calls = 0;
  int cancelledCalls = 0;
  cppd::DelayedCall cancelled = reactor.callAfterPoll([&] { ++cancelledCalls; });
  cppd::DelayedCall call = reactor.callAfterPoll([&] {
    ++calls;
    reactor.stop();
  });
  CHECK(call.active());
  cancelled.cancel();
  CHECK_FALSE(cancelled.active());
  reactor.run();
  CHECK_FALSE(deadline.expired());
  CHECK(calls == 1);
  CHECK(cancelledCalls == 0);
  CHECK_FALSE(call.active());
  deadline.cancel();
  requireLoopCloses(reactor);
}

TEST_CASE("onSignal for an invalid signal number throws an error naming the libuv error", "[reactor]") {
  Reactor reactor;
  try {
    reactor.onSignal(-1, [](int) {});
    FAIL("onSignal(-1) did not throw");
  } catch (const cppd::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("watch signal") && Catch::Contains("EINVAL"));
  }
  requireLoopCloses(reactor);
}

TEST_CASE("an exception thrown by a call is logged as an error and the loop goes on", "[reactor]") {
  auto capture = std::make_shared<ErrorCapture>();
  cppd::log::addObserver(capture);
  Reactor reactor;
  bool laterRan = false;
  reactor.callLater(0ms, [] { throw std::runtime_error("boom"); });
  reactor.callFromThread([] { throw 42; });
  reactor.callLater(5ms, [&] { laterRan = true; });
  reactor.run();
  cppd::log::reset();
  CHECK(laterRan);
  REQUIRE(capture->errors.size() == 2);
  CHECK_THAT(capture->errors, Catch::VectorContains(std::string("callFromThread call failed: unknown exception")));
  CHECK_THAT(capture->errors, Catch::VectorContains(std::string("callLater call failed: boom")));
  requireLoopCloses(reactor);
}

TEST_CASE("an exception thrown by a signal handler is logged naming the signal", "[reactor]") {
  auto capture = std::make_shared<ErrorCapture>();
  cppd::log::addObserver(capture);
  Reactor reactor;
  Deadline deadline(reactor);
  cppd::SignalWatch watch = reactor.onSignal(SIGUSR2, [&](int) {
    reactor.stop();
    throw std::runtime_error("handler broke");
  });
  std::raise(SIGUSR2);
  reactor.run();
  cppd::log::reset();
  REQUIRE(capture->errors.size() == 1);
  CHECK(capture->errors[0] == "onSignal handler for SIGUSR2 failed: handler broke");
  watch.stop();
  deadline.cancel();
  requireLoopCloses(reactor);
}

TEST_CASE("backendName names libuv, its version and the poller", "[reactor]") {
  Reactor reactor;
  CHECK(reactor.backendName() == std::string("libuv ") + uv_version_string() + " (epoll)");
  requireLoopCloses(reactor);
}

TEST_CASE("uvLoop gives networking code the reactor's libuv loop", "[reactor]") {
  Reactor reactor;
  uv_loop_t* loop = cppd::detail::uvLoop(reactor);
  auto* idle = new uv_idle_t;
  REQUIRE(uv_idle_init(loop, idle) == 0);
  CHECK(reactor.openHandleCount() == 1);
  uv_close(reinterpret_cast<uv_handle_t*>(idle), [](uv_handle_t* handle) { delete reinterpret_cast<uv_idle_t*>(handle); });
  requireLoopCloses(reactor);
}

TEST_CASE("uvError names the operation, the target, libuv's message and the error name", "[reactor]") {
  cppd::Error error = cppd::detail::uvError("listen", "tcp:8000:interface=127.0.0.1", UV_EADDRINUSE);
  CHECK(std::string(error.what()) == "listen tcp:8000:interface=127.0.0.1: address already in use (EADDRINUSE)");
  CHECK(cppd::detail::uvError("open", "x", UV_EACCES).kind() == cppd::ErrorKind::permission);
}

TEST_CASE("a DelayedCall and a SignalWatch may outlive their reactor", "[reactor]") {
  auto captured = std::make_shared<int>(0);
  cppd::DelayedCall call;
  cppd::SignalWatch watch;
  {
    Reactor reactor;
    call = reactor.callLater(1h, [captured] {});
    watch = reactor.onSignal(SIGUSR2, [](int) {});
    CHECK(captured.use_count() == 2);
  }  // closes both handles
  CHECK_FALSE(call.active());
  CHECK(captured.use_count() == 1);  // the call's captures were released with its handle
  call.cancel();
  watch.stop();
}

TEST_CASE("a closed reactor refuses to run and ignores new calls", "[reactor]") {
  Reactor reactor;
  requireLoopCloses(reactor);
  CHECK_THROWS_AS(reactor.run(), cppd::Error);
  CHECK_FALSE(reactor.callLater(0ms, [] {}).active());
  CHECK(reactor.openHandleCount() == 0);
}

TEST_CASE("globalReactor is one reactor for the whole process", "[reactor]") {
  CHECK(&cppd::globalReactor() == &cppd::globalReactor());
  CHECK(cppd::globalReactor().openHandleCount() == 0);
}

TEST_CASE("runInThreadPool runs work on another thread and done on the loop thread, after it", "[reactor]") {
  Reactor reactor;
  const auto loopThread = std::this_thread::get_id();
  std::thread::id workThread;
  std::vector<std::string> order;
  bool doneOnLoop = false;
  reactor.runInThreadPool([&] { workThread = std::this_thread::get_id(); },
                          [&] {
                            order.push_back("done");
                            doneOnLoop = std::this_thread::get_id() == loopThread;
                            reactor.stop();
                          });
  order.push_back("queued");  // done never runs inside the call
  Deadline deadline(reactor);
  reactor.run();
  deadline.cancel();
  CHECK_FALSE(deadline.expired());
  CHECK(order == std::vector<std::string>{"queued", "done"});
  CHECK(workThread != loopThread);
  CHECK(doneOnLoop);
  CHECK(reactor.tryClose());
}

TEST_CASE("runInThreadPool's threads block every signal, and the caller's mask is as it was", "[reactor]") {
  Reactor reactor;
  sigset_t before;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &before);
  bool workBlocks = false;
  reactor.runInThreadPool(
      [&] {
        sigset_t mask;
        ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
        workBlocks = true;
        for (const int signum : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP, SIGCHLD}) {
          workBlocks = workBlocks && ::sigismember(&mask, signum) == 1;
        }
      },
      [&] { reactor.stop(); });
  sigset_t after;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &after);
  Deadline deadline(reactor);
  reactor.run();
  deadline.cancel();
  CHECK_FALSE(deadline.expired());
  CHECK(workBlocks);
  for (const int signum : {SIGTERM, SIGUSR2}) CHECK(::sigismember(&after, signum) == ::sigismember(&before, signum));
  CHECK(reactor.tryClose());
}

TEST_CASE("runInThreadPool logs an exception from work and still runs done; the loop runs while work blocks",
          "[reactor]") {
  Reactor reactor;
  std::atomic<bool> release{false};
  bool done = false;
  int ticks = 0;
  reactor.runInThreadPool([&] {
    while (!release) std::this_thread::sleep_for(1ms);
    throw std::runtime_error("hash failed");
  }, [&] {
    done = true;
    reactor.stop();
  });
  // The loop keeps serving timers while the work blocks a pool thread.
  std::function<void()> tick = [&] {
    if (++ticks == 3) release = true;
    if (ticks < 3) reactor.callLater(1ms, tick);
  };
  reactor.callLater(1ms, tick);
  CHECK_FALSE(reactor.tryClose());  // work in flight
  Deadline deadline(reactor);
  reactor.run();
  deadline.cancel();
  CHECK(ticks == 3);
  CHECK(done);
  CHECK(reactor.tryClose());
}
