#include <cppd/log.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/reactor.hpp>

using cppd::LogContext;
using cppd::LogEvent;
using cppd::LogLevel;

namespace {

struct Captured {
  LogLevel level;
  std::string system;
  std::string text;
};

class CapturingObserver : public cppd::ILogObserver {
 public:
  void observe(const LogEvent& event) override {
    events.push_back({event.level, std::string(event.system), std::string(event.text)});
  }
  std::vector<Captured> events;
};

class ThrowingObserver : public cppd::ILogObserver {
 public:
  void observe(const LogEvent&) override { throw std::runtime_error("observer is broken"); }
};

// The publisher is process-wide: every test starts and ends with no observer, an empty buffer, level info.
struct FreshLog {
  FreshLog() { clear(); }
  ~FreshLog() { clear(); }
  static void clear() {
    cppd::log::reset();
    cppd::log::setLevel(LogLevel::info);
  }
};

// Switches the process time zone for one test and restores the previous one.
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* zone) {
    if (const char* old = std::getenv("TZ")) previous_ = old;
    ::setenv("TZ", zone, 1);
    ::tzset();
  }
  ~ScopedTimeZone() {
    if (previous_) {
      ::setenv("TZ", previous_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  ScopedTimeZone(const ScopedTimeZone&) = delete;
  ScopedTimeZone& operator=(const ScopedTimeZone&) = delete;

 private:
  std::optional<std::string> previous_;
};

// 2024-01-05T12:34:56Z.
const auto kFixedTime = std::chrono::system_clock::from_time_t(1704458096);

std::string formatted(std::string_view system, std::string_view text,
                      std::chrono::system_clock::time_point time = kFixedTime) {
  std::string line;
  cppd::formatLogLine(LogEvent{time, LogLevel::info, system, text}, line);
  return line;
}

// A new observer of type Observer, added to the log.
template <typename Observer>
std::shared_ptr<Observer> attach() {
  auto observer = std::make_shared<Observer>();
  cppd::log::addObserver(observer);
  return observer;
}

}  // namespace

TEST_CASE("formatLogLine writes twistd's line, escaped so that one event is always one line", "[log]") {
  using std::chrono::milliseconds;
  struct Row {
    const char* what;
    const char* zone;
    std::string_view system;
    std::string_view text;
    milliseconds after;  // past kFixedTime
    const char* expected;
  };
  const Row rows[] = {
      {"local time with a T, the offset, [system] and the text", "UTC", "Echo,0,127.0.0.1", "hello", milliseconds(0),
       "2024-01-05T12:34:56+0000 [Echo,0,127.0.0.1] hello\n"},
      {"the local time zone and its +ZZZZ offset (east)", "IST-5:30", "-", "x", milliseconds(0),
       "2024-01-05T18:04:56+0530 [-] x\n"},
      {"the local time zone and its -ZZZZ offset (west)", "EST5", "-", "x", milliseconds(0),
       "2024-01-05T07:34:56-0500 [-] x\n"},
      {"the fraction of a second is ignored", "UTC", "-", "x", milliseconds(999), "2024-01-05T12:34:56+0000 [-] x\n"},
      {"a whole second counts", "UTC", "-", "x", milliseconds(1000), "2024-01-05T12:34:57+0000 [-] x\n"},
      {"a multi-line text stays on one line, its breaks escaped", "UTC", "-", "Traceback:\n  line 1\r\n  line 2",
       milliseconds(0), "2024-01-05T12:34:56+0000 [-] Traceback:\\n  line 1\\r\\n  line 2\n"},
      {"a trailing newline is escaped too", "UTC", "-", "done\n", milliseconds(0),
       "2024-01-05T12:34:56+0000 [-] done\\n\n"},
      {"every C0 control byte and DEL a client could send is escaped", "UTC", "-",
       std::string_view("USER \x1b[2Jroot\x07\x7f\x00!", 17), milliseconds(0),
       "2024-01-05T12:34:56+0000 [-] USER \\x1b[2Jroot\\x07\\x7f\\x00!\n"},
      {"a tab and the ends of the C0 range are escaped", "UTC", "-", "a\tb\x01\x1f", milliseconds(0),
       "2024-01-05T12:34:56+0000 [-] a\\tb\\x01\\x1f\n"},
      {"a forged line after CR LF stays part of the one line that carries it", "UTC", "-",
       "anonymous\r\n2024-01-05T12:34:56+0000 [-] Server Shut Down.", milliseconds(0),
       "2024-01-05T12:34:56+0000 [-] anonymous\\r\\n2024-01-05T12:34:56+0000 [-] Server Shut Down.\n"},
      {"the system is escaped as the text is", "UTC", "FTP,3,\x1b]0;x\x07", "hi", milliseconds(0),
       "2024-01-05T12:34:56+0000 [FTP,3,\\x1b]0;x\\x07] hi\n"},
      {"a backslash is doubled, so an escape in the text cannot pass for an escaped byte", "UTC", "-", "C:\\x1b",
       milliseconds(0), "2024-01-05T12:34:56+0000 [-] C:\\\\x1b\n"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.what) {
      ScopedTimeZone zone(row.zone);
      CHECK(formatted(row.system, row.text, kFixedTime + row.after) == row.expected);
    }
  }
}

TEST_CASE("appendEscapedLogText copies well-formed UTF-8 and escapes C1 controls and malformed bytes", "[log]") {
  auto escaped = [](std::string_view text) {
    std::string out;
    cppd::appendEscapedLogText(text, out);
    return out;
  };
  CHECK(escaped("Jos\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80") == "Jos\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
  CHECK(escaped("\xc2\x9b" "31m") == "\\xc2\\x9b31m");        // U+009B, the 8-bit CSI
  CHECK(escaped("\xc2\xa0") == "\xc2\xa0");                  // U+00A0 is printable
  CHECK(escaped("\x9b" "31m") == "\\x9b31m");                // a raw 8-bit CSI byte
  CHECK(escaped("\xc0\xaf") == "\\xc0\\xaf");                // overlong '/'
  CHECK(escaped("\xed\xa0\x80") == "\\xed\\xa0\\x80");       // a surrogate
  CHECK(escaped("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  CHECK(escaped("\xe6\x97") == "\\xe6\\x97");                // truncated at the end
  CHECK(escaped("\xe6\x97" "a") == "\\xe6\\x97a");           // truncated before ASCII
  CHECK(escaped("a\xe2\x80\xae" "bc") == "a\\xe2\\x80\\xae" "bc");  // U+202E, right-to-left override
  CHECK(escaped("\xe2\x81\xa6\xe2\x80\x8f\xd8\x9c") == "\\xe2\\x81\\xa6\\xe2\\x80\\x8f\\xd8\\x9c");  // LRI, RLM, ALM
  CHECK(escaped("\xe2\x80\x94\xd8\xa8") == "\xe2\x80\x94\xd8\xa8");  // an em dash and an Arabic letter stay
}

TEST_CASE("appendEscapedLogText never writes a control byte, DEL or malformed UTF-8, whatever the input", "[log]") {
  for (int first = 0; first < 256; ++first) {
    for (int second : {0x00, 0x0a, 0x1b, 0x41, 0x7f, 0x80, 0x9b, 0xa0, 0xbf, 0xc2, 0xe0, 0xff}) {
      const char bytes[] = {static_cast<char>(first), static_cast<char>(second)};
      std::string out;
      cppd::appendEscapedLogText(std::string_view(bytes, 2), out);
      for (unsigned char c : out) {
        INFO("input " << first << ", " << second << " gave " << out);
        CHECK((c >= 0x20 && c != 0x7f));
      }
    }
  }
}

TEST_CASE("formatLogLine appends to what the buffer already holds", "[log]") {
  ScopedTimeZone utc("UTC");
  std::string out = "first\n";
  cppd::formatLogLine(LogEvent{kFixedTime, LogLevel::info, "-", "second"}, out);
  CHECK(out == "first\n2024-01-05T12:34:56+0000 [-] second\n");
}

TEST_CASE("an event logged outside any LogContext has the system -", "[log]") {
  FreshLog fresh;
  auto capture = attach<CapturingObserver>();
  CHECK(LogContext::current() == "-");
  cppd::log::info("EchoFactory starting on {}", 18007);
  REQUIRE(capture->events.size() == 1);
  CHECK(capture->events[0].system == "-");
  CHECK(capture->events[0].text == "EchoFactory starting on 18007");
  CHECK(capture->events[0].level == LogLevel::info);
}

TEST_CASE("a LogContext sets the system of events logged while it lives and nested ones restore it", "[log]") {
  FreshLog fresh;
  auto capture = attach<CapturingObserver>();
  {
    LogContext factory("EchoFactory");
    cppd::log::info("accepted");
    {
      LogContext connection("Echo,0,127.0.0.1");
      cppd::log::info("data");
    }
    cppd::log::info("back in the factory");
  }
  cppd::log::info("outside");
  REQUIRE(capture->events.size() == 4);
  CHECK(capture->events[0].system == "EchoFactory");
  CHECK(capture->events[1].system == "Echo,0,127.0.0.1");
  CHECK(capture->events[2].system == "EchoFactory");
  CHECK(capture->events[3].system == "-");
}

TEST_CASE("a LogContext applies only to the thread that created it", "[log]") {
  LogContext connection("Echo,1,127.0.0.1");
  std::string seenElsewhere;
  std::thread other([&] { seenElsewhere = std::string(LogContext::current()); });
  other.join();
  CHECK(seenElsewhere == "-");
  CHECK(LogContext::current() == "Echo,1,127.0.0.1");
}

TEST_CASE("emit with an explicit system ignores the current context", "[log]") {
  FreshLog fresh;
  auto capture = attach<CapturingObserver>();
  LogContext connection("Echo,0,127.0.0.1");
  cppd::log::emit(LogLevel::info, "cppd.runner#info", "starting up");
  REQUIRE(capture->events.size() == 1);
  CHECK(capture->events[0].system == "cppd.runner#info");
}

TEST_CASE("events below the minimum level are dropped and info is the default", "[log]") {
  FreshLog fresh;
  auto capture = attach<CapturingObserver>();
  CHECK_FALSE(cppd::log::enabled(LogLevel::debug));
  CHECK(cppd::log::enabled(LogLevel::info));
  cppd::log::debug("hidden");
  cppd::log::setLevel(LogLevel::warn);
  cppd::log::info("hidden too");
  cppd::log::warn("shown {}", 1);
  cppd::log::error("shown {}", 2);
  cppd::log::critical("shown {}", 3);
  REQUIRE(capture->events.size() == 3);
  CHECK(capture->events[0].level == LogLevel::warn);
  CHECK(capture->events[1].level == LogLevel::error);
  CHECK(capture->events[2].level == LogLevel::critical);
  cppd::log::setLevel(LogLevel::debug);
  cppd::log::debug("now shown");
  CHECK(capture->events.size() == 4);
}

TEST_CASE("events logged before the first observer are replayed into it in order", "[log]") {
  FreshLog fresh;
  {
    LogContext context("early");
    cppd::log::info("one");
  }
  cppd::log::warn("two");
  auto capture = attach<CapturingObserver>();
  REQUIRE(capture->events.size() == 2);
  CHECK(capture->events[0].text == "one");
  CHECK(capture->events[0].system == "early");
  CHECK(capture->events[1].text == "two");
  CHECK(capture->events[1].level == LogLevel::warn);
}

TEST_CASE("only the last 200 events before the first observer are replayed", "[log]") {
  FreshLog fresh;
  for (int i = 0; i < 250; ++i) cppd::log::info("event {}", i);
  auto capture = attach<CapturingObserver>();
  REQUIRE(capture->events.size() == 200);
  CHECK(capture->events.front().text == "event 50");
  CHECK(capture->events.back().text == "event 249");
}

TEST_CASE("a later observer gets no replay, only new events", "[log]") {
  FreshLog fresh;
  cppd::log::info("early");
  auto first = attach<CapturingObserver>();
  auto second = attach<CapturingObserver>();
  cppd::log::info("late");
  REQUIRE(first->events.size() == 2);
  REQUIRE(second->events.size() == 1);
  CHECK(second->events[0].text == "late");
}

TEST_CASE("reset drops the start-up buffer", "[log]") {
  FreshLog fresh;
  cppd::log::info("forgotten");
  cppd::log::reset();
  auto capture = attach<CapturingObserver>();
  CHECK(capture->events.empty());
}

TEST_CASE("removeObserver stops delivery to that observer only", "[log]") {
  FreshLog fresh;
  auto kept = attach<CapturingObserver>();
  auto removed = attach<CapturingObserver>();
  cppd::log::removeObserver(removed);
  cppd::log::removeObserver(std::make_shared<CapturingObserver>());  // unknown: ignored
  cppd::log::info("after removal");
  CHECK(kept->events.size() == 1);
  CHECK(removed->events.empty());
}

TEST_CASE("an observer that throws does not stop the event or reach the caller", "[log]") {
  FreshLog fresh;
  cppd::log::addObserver(std::make_shared<ThrowingObserver>());
  auto capture = attach<CapturingObserver>();
  REQUIRE_NOTHROW(cppd::log::info("first"));
  REQUIRE_NOTHROW(cppd::log::info("second"));
  CHECK(capture->events.size() == 2);
}

TEST_CASE("an observer that logs from observe does not deadlock and its event is dropped", "[log]") {
  struct Relogging : cppd::ILogObserver {
    void observe(const LogEvent&) override {
      ++calls;
      cppd::log::info("from inside the observer");
    }
    int calls = 0;
  };
  FreshLog fresh;
  auto observer = std::make_shared<Relogging>();
  cppd::log::addObserver(observer);
  cppd::log::info("outer");
  CHECK(observer->calls == 1);
}

TEST_CASE("log helpers format their arguments, including lines longer than the inline buffer", "[log]") {
  FreshLog fresh;
  auto capture = attach<CapturingObserver>();
  cppd::log::info("{} connected from {}:{}", "Echo", "127.0.0.1", 4242);
  std::string big(2000, 'x');
  cppd::log::info("big {}", big);
  REQUIRE(capture->events.size() == 2);
  CHECK(capture->events[0].text == "Echo connected from 127.0.0.1:4242");
  CHECK(capture->events[1].text == "big " + big);
}

TEST_CASE("events logged from several threads all reach the observer", "[log]") {
  FreshLog fresh;
  auto capture = attach<CapturingObserver>();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      LogContext context(fmt::format("worker,{}", t));
      for (int i = 0; i < 500; ++i) cppd::log::info("event {}", i);
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(capture->events.size() == 2000);
}

TEST_CASE("toString names every level", "[log]") {
  CHECK(cppd::toString(LogLevel::debug) == "debug");
  CHECK(cppd::toString(LogLevel::info) == "info");
  CHECK(cppd::toString(LogLevel::warn) == "warn");
  CHECK(cppd::toString(LogLevel::error) == "error");
  CHECK(cppd::toString(LogLevel::critical) == "critical");
}

TEST_CASE("A LogContext made from a named string refers to it instead of copying it", "[log]") {
  const std::string connection = "HttpProtocol,12,127.0.0.1 with a context longer than the small-string buffer";
  {
    cppd::LogContext context(connection);
    CHECK(cppd::LogContext::current().data() == connection.data());
    {
      cppd::LogContext temporary(std::string("Factory,") + "owned");  // a temporary is taken over
      CHECK(cppd::LogContext::current() == "Factory,owned");
    }
    CHECK(cppd::LogContext::current() == connection);
  }
  CHECK(cppd::LogContext::current() == "-");
}

namespace {

// Holds what it observes inside a LogBatch and moves it to written on flush(), as the runner's log file does, and
// notes on which thread each flush that wrote something ran (the loop's, or the log's flush thread).
class HoldingObserver : public cppd::IBufferedLogObserver {
 public:
  void observe(const LogEvent& event) override {
    std::lock_guard lock(mutex_);
    held_.emplace_back(event.text);
    if (!cppd::LogBatch::active()) flushLocked();
  }
  void flush() noexcept override {
    std::lock_guard lock(mutex_);
    flushLocked();
  }
  std::vector<std::string> written() {
    std::lock_guard lock(mutex_);
    return written_;
  }
  std::size_t flushes() {
    std::lock_guard lock(mutex_);
    return flushers_.size();
  }
  std::size_t flushesOn(std::thread::id thread) {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count(flushers_.begin(), flushers_.end(), thread));
  }

 private:
  void flushLocked() {
    if (held_.empty()) return;
    written_.insert(written_.end(), held_.begin(), held_.end());
    held_.clear();
    flushers_.push_back(std::this_thread::get_id());
  }
  std::mutex mutex_;
  std::vector<std::string> held_;
  std::vector<std::string> written_;
  std::vector<std::thread::id> flushers_;
};

}  // namespace

TEST_CASE("a buffering observer holds lines logged inside a LogBatch until the outermost batch ends", "[log]") {
  FreshLog fresh;
  auto holding = attach<HoldingObserver>();
  {
    cppd::LogBatch outer;
    CHECK(cppd::LogBatch::active());
    cppd::log::info("one");
    {
      cppd::LogBatch inner;
      cppd::log::info("two");
    }
    CHECK(holding->written().empty());  // the inner batch's end is not the end
  }
  CHECK_FALSE(cppd::LogBatch::active());
  CHECK(holding->written() == std::vector<std::string>{"one", "two"});
  CHECK(holding->flushes() == 1);
  cppd::log::info("three");  // outside a batch: written at once
  CHECK(holding->written().size() == 3);
}

TEST_CASE("log::flush and removeObserver write out what a buffering observer holds", "[log]") {
  FreshLog fresh;
  auto holding = attach<HoldingObserver>();
  auto plain = attach<CapturingObserver>();
  cppd::LogBatch batch;
  cppd::log::info("held");
  CHECK(plain->events.size() == 1);  // a plain observer is not affected
  cppd::log::flush();
  CHECK(holding->written() == std::vector<std::string>{"held"});
  cppd::log::info("held again");
  cppd::log::removeObserver(holding);
  CHECK(holding->written().size() == 2);
}

TEST_CASE("a line held by a batch that does not end is written within about the hold limit", "[log]") {
  // A loop callback that logs and then blocks: the log's own thread writes the line.
  FreshLog fresh;
  auto holding = attach<HoldingObserver>();
  cppd::LogBatch batch;
  cppd::log::info("logged, then the loop blocks");
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(5);
  while (holding->written().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the condition, not waiting it out
  }
  REQUIRE(holding->written() == std::vector<std::string>{"logged, then the loop blocks"});
  CHECK(std::chrono::steady_clock::now() - start < cppd::kLogHoldLimit * 10);
}

TEST_CASE("fork writes out held lines first, so the child does not inherit them", "[log]") {
  FreshLog fresh;
  auto holding = attach<HoldingObserver>();
  cppd::LogBatch batch;
  cppd::log::info("before fork");
  const pid_t child = ::fork();
  if (child == 0) ::_exit(holding->written().size() == 1 ? 0 : 1);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(holding->written() == std::vector<std::string>{"before fork"});
}

namespace {

// Holds a count of the lines it observes inside a LogBatch, as the runner's log file holds the lines.
class CountingHoldingObserver : public cppd::IBufferedLogObserver {
 public:
  void observe(const LogEvent&) override {
    std::lock_guard lock(mutex_);
    ++held_;
    if (!cppd::LogBatch::active()) flushLocked();
  }
  void flush() noexcept override {
    std::lock_guard lock(mutex_);
    flushLocked();
  }

 private:
  void flushLocked() noexcept {
    written_ += std::exchange(held_, 0);
  }
  std::mutex mutex_;
  std::size_t held_ = 0;
  std::size_t written_ = 0;
};

}  // namespace

TEST_CASE("a child forked while other threads log and flush can log: no lock is inherited held", "[log]") {
  // A worker forked while the supervisor's flush thread held the log's lock served, then hung on its first line.
  FreshLog fresh;
  auto counting = attach<CountingHoldingObserver>();  // keeps no lines: a fork copies only a small process
  std::atomic<bool> done{false};
  std::thread logger([&done] {
    while (!done.load()) {
      cppd::LogBatch batch;  // held lines: the flush thread writes them too
      cppd::log::info("from another thread");
    }
  });
  constexpr int kForks = 200;
  int hung = 0;
  int failed = 0;
  for (int i = 0; i < kForks; ++i) {
    const pid_t child = ::fork();
    if (child == 0) {
      cppd::log::info("from the child");
      cppd::log::flush();
      ::_exit(0);
    }
    REQUIRE(child > 0);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    pid_t reaped = 0;
    while ((reaped = ::waitpid(child, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling for the exit, with a deadline
    }
    if (reaped == 0) {
      ++hung;
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      break;  // one is proof enough; the rest would each wait out the deadline
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  done.store(true);
  logger.join();
  CHECK(hung == 0);
  CHECK(failed == 0);
}

namespace {

// Polls condition (another thread's progress) until it holds or 10 s pass.
template <typename Condition>
bool eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling the condition, not waiting it out
  }
  return condition();
}

}  // namespace

TEST_CASE("the reactor writes a loop iteration's lines with the next iteration's, one write per two", "[log]") {
  // Each tick comes from another thread (callFromThread: no handle to close, so no extra iteration): one loop
  // iteration that logs one line, then a wait for the next tick.
  FreshLog fresh;
  auto holding = attach<HoldingObserver>();
  cppd::Reactor reactor;
  cppd::DelayedCall keepAlive = reactor.callLater(std::chrono::seconds(60), [] {});  // the loop waits, not ends
  constexpr int kTicks = 6;
  std::vector<std::vector<std::string>> writtenAtTick;  // what had been written when each tick began
  std::atomic<int> ticks{0};
  const auto tickAll = [&] {
    for (int t = 1; t <= kTicks; ++t) {
      reactor.callFromThread([&] {
        writtenAtTick.push_back(holding->written());
        cppd::log::info("line {}", ticks.load() + 1);
        ticks.fetch_add(1);
      });
      if (!eventually([&] { return ticks.load() == t; })) break;
    }
    reactor.callFromThread([&] {
      keepAlive.cancel();
      reactor.stop();
    });
  };
  // Started from inside the loop: a call queued before run() would be run by run() itself, outside the loop, and
  // leave a wake-up behind, one more iteration.
  std::thread ticker;
  reactor.callLater(std::chrono::milliseconds(0), [&] { ticker = std::thread(tickAll); });
  reactor.run();
  ticker.join();
  REQUIRE(ticks.load() == kTicks);
  std::vector<std::string> all;
  for (int k = 1; k <= kTicks; ++k) all.push_back("line " + std::to_string(k));
  CHECK(holding->written() == all);  // in order, once each
  REQUIRE(writtenAtTick.size() == kTicks);
  for (int t = 3; t <= kTicks; ++t) {
    // A line waits through at most one wait: tick t-2's line left by the end of tick t-1, before tick t.
    const std::vector<std::string>& seen = writtenAtTick[static_cast<std::size_t>(t - 1)];
    INFO("tick " << t);
    REQUIRE(seen.size() >= static_cast<std::size_t>(t - 2));
    CHECK(std::equal(seen.begin(), seen.end(), all.begin()));
  }
  // Six iterations that logged, six writes before: now at most three from the loop's thread (the log's own
  // thread may write once in between, which only takes some off the loop).
  CHECK(holding->flushesOn(std::this_thread::get_id()) <= kTicks / 2);
  CHECK(reactor.tryClose());
}

TEST_CASE("a line carried into a long wait is written by the log's thread within about the hold limit", "[log]") {
  FreshLog fresh;
  auto holding = attach<HoldingObserver>();
  cppd::Reactor reactor;
  // The loop waits for this timer, and nothing wakes it until the watcher below has seen the line written.
  cppd::DelayedCall keepAlive = reactor.callLater(std::chrono::seconds(60), [] {});
  std::atomic<bool> logged{false};
  std::chrono::steady_clock::time_point loggedAt;
  std::optional<std::chrono::steady_clock::time_point> seenAt;
  const auto logThenWatch = [&] {
    reactor.callFromThread([&] {
      cppd::log::info("then the loop waits");
      loggedAt = std::chrono::steady_clock::now();
      logged.store(true);
    });
    if (eventually([&] { return logged.load() && !holding->written().empty(); })) {
      seenAt = std::chrono::steady_clock::now();
    }
    reactor.callFromThread([&] {
      keepAlive.cancel();
      reactor.stop();
    });
  };
  std::thread watcher;  // started from inside the loop, as above
  reactor.callLater(std::chrono::milliseconds(0), [&] { watcher = std::thread(logThenWatch); });
  reactor.run();
  watcher.join();
  REQUIRE(seenAt.has_value());
  CHECK(holding->written() == std::vector<std::string>{"then the loop waits"});
  CHECK(holding->flushesOn(std::this_thread::get_id()) == 0);  // not the loop's: it was waiting
  CHECK(*seenAt - loggedAt < cppd::kLogHoldLimit * 10);
  CHECK(reactor.tryClose());
}
