// The process-wide log publisher: one lock, a list of observers, and twistd's start-up buffer.
#include <cppd/log.hpp>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <exception>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "detail/held_line_flusher.hpp"
#include "detail/log_tag.hpp"
#include "detail/log_wait_flush.hpp"
#include "detail/plain_ascii_run.hpp"
#include "detail/utf8_sequence.hpp"

namespace cppd {
namespace {

// twistd's log beginner keeps this many events until the first observer is attached.
constexpr std::size_t kStartupBufferSize = 200;

struct BufferedEvent {
  std::chrono::system_clock::time_point time;
  LogLevel level = LogLevel::info;
  std::string system;
  std::string text;
  std::string fieldBytes;        // the keys and string values of the fields, which view into it
  std::vector<LogField> fields;
};

void copyFields(std::span<const LogField> fields, BufferedEvent& slot) {
  slot.fieldBytes.clear();
  slot.fields.clear();
  for (const LogField& field : fields) {
    slot.fieldBytes.append(field.key);
    slot.fieldBytes.append(field.string);
  }
  std::size_t at = 0;
  const std::string_view bytes = slot.fieldBytes;
  for (const LogField& field : fields) {
    LogField& copy = slot.fields.emplace_back(field);
    copy.key = bytes.substr(at, field.key.size());
    at += field.key.size();
    copy.string = bytes.substr(at, field.string.size());
    at += field.string.size();
  }
}

// A fixed ring of events whose strings are reused, so buffering does not allocate once the ring has wrapped.
class StartupBuffer {
 public:
  void push(const LogEvent& event) {
    BufferedEvent& slot = slots_[(first_ + count_) % slots_.size()];
    slot.time = event.time;
    slot.level = event.level;
    slot.system.assign(event.system);
    slot.text.assign(event.text);
    copyFields(event.fields, slot);
    if (count_ < slots_.size()) {
      ++count_;
    } else {
      first_ = (first_ + 1) % slots_.size();
    }
  }

  template <typename Fn>
  void forEach(Fn&& fn) const {
    for (std::size_t i = 0; i < count_; ++i) {
      const BufferedEvent& slot = slots_[(first_ + i) % slots_.size()];
      fn(LogEvent{slot.time, slot.level, slot.system, slot.text, slot.fields});
    }
  }

  void clear() noexcept {
    first_ = 0;
    count_ = 0;
  }

 private:
  std::array<BufferedEvent, kStartupBufferSize> slots_;
  std::size_t first_ = 0;
  std::size_t count_ = 0;
};

struct Publisher {
  std::mutex mutex;
  std::vector<std::shared_ptr<ILogObserver>> observers;
  std::vector<std::shared_ptr<IBufferedLogObserver>> buffered;  // the observers above that may hold lines back
  std::atomic<bool> anyBuffered{false};  // lets the per-iteration flush skip the lock when nobody buffers
  // Lines may be held (an event reached the buffering observers inside a LogBatch) since the last flush, and
  // whether they have already waited through one of the loop's waits for I/O (flushBeforeWait).
  bool held = false;
  bool heldThroughAWait = false;
  StartupBuffer startup;
  bool started = false;  // set by the first addObserver; from then on nothing is buffered
  bool observerFailureReported = false;
  std::atomic<LogLevel> minLevel{LogLevel::info};
};

Publisher& publisher();  // below, with the fork handlers it registers

// The current thread's innermost LogContext, or null.
thread_local const std::string_view* currentSystem = nullptr;

// How many LogBatch objects this thread is inside.
thread_local int batchDepth = 0;

// True while this thread is inside an observer: an observer that logs would otherwise deadlock on the lock.
thread_local bool dispatching = false;

void writeStderr(std::string_view text) noexcept {
  while (!text.empty()) {
    ssize_t written = ::write(STDERR_FILENO, text.data(), text.size());
    if (written <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(written));
  }
}

void reportObserverFailure(Publisher& pub, const char* what) noexcept {
  if (pub.observerFailureReported) return;
  pub.observerFailureReported = true;
  std::string_view parts[] = {"cppd: a log observer threw (", what,
                              "); the event was dropped for it, further observer errors are not reported\n"};
  for (std::string_view part : parts) writeStderr(part);
}

// Called with the lock held. An observer must not throw; if one does, the event still reaches the others and
// the failure is reported once, because an observer that throws usually throws for every event.
void deliver(Publisher& pub, ILogObserver& observer, const LogEvent& event) noexcept {
  try {
    observer.observe(event);
  } catch (const std::exception& e) {
    reportObserverFailure(pub, e.what());  // here: what() dies with the exception
  } catch (...) {
    reportObserverFailure(pub, "unknown exception");
  }
}

// Called with the lock held.
void flushLocked(Publisher& pub) noexcept {
  dispatching = true;
  for (const auto& observer : pub.buffered) observer->flush();
  dispatching = false;
  pub.held = false;
  pub.heldThroughAWait = false;
}

// fork() copies only the calling thread. A lock another thread held at that moment (the held-line flusher
// writing, a thread logging) would stay held in the child for ever, and the child's first line would hang it: a
// worker that served, then never heard its SIGTERM. So the lock is taken across every fork, with the held lines
// written first (a child would otherwise write them a second time), and let go on both sides after.
thread_local bool lockedForFork = false;  // the forking thread's own: set by its prepare, read by its after

void lockBeforeFork() noexcept {
  if (dispatching) return;  // a fork from inside an observer: this thread holds the lock already
  Publisher& pub = publisher();
  pub.mutex.lock();
  flushLocked(pub);
  lockedForFork = true;
}

void unlockAfterForkInParent() noexcept {
  if (std::exchange(lockedForFork, false)) publisher().mutex.unlock();
}

void unlockAfterForkInChild() noexcept {
  unlockAfterForkInParent();
  detail::forgetHeldLineFlusherAfterFork();  // the parent's thread is not in the child
}

// Never destroyed: destructors of other statics (the global reactor, plugins) may still log during exit, and a
// function-local static could already be gone by then.
Publisher& publisher() {
  static Publisher* const instance = [] {
    auto* created = new Publisher;
    if (::pthread_atfork(&lockBeforeFork, &unlockAfterForkInParent, &unlockAfterForkInChild) != 0) {
      writeStderr("cppd: pthread_atfork failed: a fork while another thread logs may hang the child's log\n");
    }
    return created;
  }();
  return *instance;
}

void publish(const LogEvent& event) {
  if (dispatching) {
    writeStderr("cppd: a log observer logged from observe(); that event was dropped\n");
    return;
  }
  Publisher& pub = publisher();
  std::lock_guard lock(pub.mutex);
  if (!pub.started) {
    pub.startup.push(event);
    // twistd prints errors at once while nobody listens yet, so a failed start-up is never silent.
    if (event.level == LogLevel::critical) {
      std::string line;
      appendEscapedLogText(event.text, line);
      line.push_back('\n');
      writeStderr(line);
    }
    return;
  }
  dispatching = true;
  for (const auto& observer : pub.observers) deliver(pub, *observer, event);
  dispatching = false;
  if (batchDepth > 0 && !pub.buffered.empty()) {
    pub.held = true;
    detail::noteHeldLine();
  }
}

// "YYYY-MM-DDTHH:MM:SS+ZZZZ" for one second, cached per thread: localtime_r and strftime cost far more than the
// rest of a line, and consecutive events almost always fall in the same second. The zone tzset() last loaded is
// part of the key, so a TZ change followed by tzset() takes effect at once (tests rely on that).
struct PrefixCache {
  std::time_t second = -1;
  long zoneOffset = 0;
  const char* zoneName = nullptr;
  std::array<char, 40> text{};
  std::size_t size = 0;
};

std::string_view timePrefix(std::chrono::system_clock::time_point time) {
  thread_local PrefixCache cache;
  // Floor the duration, not the time point: converting a floored time point back to nanoseconds overflows for
  // times near the clock's minimum (found by fuzzing formatLogLine).
  const std::time_t second = static_cast<std::time_t>(
      std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count());
  if (second != cache.second || ::timezone != cache.zoneOffset || ::tzname[0] != cache.zoneName || cache.size == 0) {
    std::tm local{};
    localtime_r(&second, &local);
    cache.size = std::strftime(cache.text.data(), cache.text.size(), "%Y-%m-%dT%H:%M:%S%z", &local);
    cache.second = second;
    cache.zoneOffset = ::timezone;
    cache.zoneName = ::tzname[0];
  }
  return {cache.text.data(), cache.size};
}

// Printable ASCII other than the backslash: copied as is, and the common case, so it is tested first.
bool isPlainLogByte(unsigned char c) noexcept { return c >= 0x20 && c < 0x7f && c != '\\'; }

void appendEscapedByte(unsigned char c, std::string& out) {
  switch (c) {
    case '\n': out.append("\\n"); return;
    case '\r': out.append("\\r"); return;
    case '\t': out.append("\\t"); return;
    case '\\': out.append("\\\\"); return;
    default: break;
  }
  constexpr char kHex[] = "0123456789abcdef";
  const char escaped[] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
  out.append(escaped, sizeof escaped);
}

// The length of the well-formed UTF-8 sequence text starts with when it may be copied into a line as it is: not
// a C1 control nor a bidi control; 0 otherwise.
std::size_t printableUtf8Length(std::string_view text) noexcept {
  const std::size_t length = detail::wellFormedUtf8Length(text);
  if (length == 0) return 0;
  const std::string_view sequence = text.substr(0, length);
  return detail::isC1Control(sequence) || detail::isBidiControl(sequence) ? 0 : length;
}

}  // namespace

std::string_view toString(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::critical: return "critical";
  }
  return "unknown";
}

ILogObserver::~ILogObserver() = default;

void appendEscapedLogText(std::string_view text, std::string& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    i = detail::endOfPlainRun<'\\', '\\'>(text, i, [](unsigned char c) { return isPlainLogByte(c); });
    out.append(text.substr(start, i - start));
    if (i == text.size()) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = printableUtf8Length(text.substr(i));
      if (length > 0) {
        out.append(text.substr(i, length));
        i += length;
        continue;
      }
    }
    appendEscapedByte(c, out);
    ++i;
  }
}

namespace {

// The process's tag ("w2" in a worker), set once before the process logs from a second thread.
std::string processTag;

}  // namespace

void detail::appendTaggedSystem(std::string_view system, std::string& out,
                                void (*escape)(std::string_view, std::string&)) {
  writeTaggedSystem(system, processTag, [&](std::string_view part) { escape(part, out); },
                    [&](std::string_view piece) { out.append(piece); });
}

void detail::setLogTag(std::string tag) { processTag = std::move(tag); }

std::string_view detail::logTag() noexcept { return processTag; }

void formatLogLine(const LogEvent& event, std::string& out) {
  out.append(timePrefix(event.time));
  out.append(" [");
  detail::appendTaggedSystem(event.system, out, &appendEscapedLogText);
  out.append("] ");
  appendEscapedLogText(event.text, out);
  out.push_back('\n');
}

LogBatch::LogBatch() noexcept { ++batchDepth; }

LogBatch::~LogBatch() {
  if (--batchDepth == 0) log::flush();
}

bool LogBatch::active() noexcept { return batchDepth > 0; }

LogContext::LogContext(std::string&& system) : owned_(std::move(system)), system_(owned_) { push(); }
LogContext::LogContext(const std::string& system) noexcept : system_(system) { push(); }
LogContext::LogContext(std::string_view system) noexcept : system_(system) { push(); }
LogContext::LogContext(const char* system) noexcept : system_(system) { push(); }

void LogContext::push() noexcept {
  previous_ = currentSystem;
  currentSystem = &system_;
}

LogContext::~LogContext() { currentSystem = previous_; }

std::string_view LogContext::current() noexcept { return currentSystem ? *currentSystem : std::string_view("-"); }

namespace log {

void addObserver(std::shared_ptr<ILogObserver> observer) {
  if (!observer) return;
  Publisher& pub = publisher();
  std::lock_guard lock(pub.mutex);
  pub.observers.push_back(observer);
  if (auto buffering = std::dynamic_pointer_cast<IBufferedLogObserver>(observer)) {
    pub.buffered.push_back(std::move(buffering));
    pub.anyBuffered.store(true, std::memory_order_relaxed);
  }
  if (pub.started) return;
  pub.started = true;
  dispatching = true;
  pub.startup.forEach([&](const LogEvent& event) { deliver(pub, *observer, event); });
  dispatching = false;
  pub.startup.clear();
}

void removeObserver(const std::shared_ptr<ILogObserver>& observer) {
  Publisher& pub = publisher();
  std::lock_guard lock(pub.mutex);
  std::erase(pub.observers, observer);
  const auto held = std::find(pub.buffered.begin(), pub.buffered.end(), observer);
  if (held == pub.buffered.end()) return;
  dispatching = true;
  (*held)->flush();  // what it holds was logged while it was attached
  dispatching = false;
  pub.buffered.erase(held);
  pub.anyBuffered.store(!pub.buffered.empty(), std::memory_order_relaxed);
}

void reset() {
  Publisher& pub = publisher();
  // Destroy the observers outside the lock: a file observer's destructor may flush and, in theory, log.
  std::vector<std::shared_ptr<ILogObserver>> detached;
  {
    std::lock_guard lock(pub.mutex);
    flushLocked(pub);
    pub.buffered.clear();
    pub.anyBuffered.store(false, std::memory_order_relaxed);
    detached.swap(pub.observers);
    pub.startup.clear();
    pub.started = false;
    pub.observerFailureReported = false;
  }
}

void flush() noexcept {
  Publisher& pub = publisher();
  if (!pub.anyBuffered.load(std::memory_order_relaxed) || dispatching) return;
  std::lock_guard lock(pub.mutex);
  flushLocked(pub);
}

}  // namespace log

// A server of short connections is rarely saturated: its loop waits after one or two connections, and a write
// per wait was a tenth of the CPU a connection costs (each system call is dear, the more so in a virtual machine).
// So the lines of an iteration wait through the next wait for I/O and leave at the end of the iteration after it,
// together with that one's: one write per two iterations, and never more than one iteration's lines held while
// the loop waits. If the loop stays waiting, the log's flush thread writes them within kLogHoldLimit.
void detail::flushBeforeWait() noexcept {
  Publisher& pub = publisher();
  if (!pub.anyBuffered.load(std::memory_order_relaxed) || dispatching) return;
  std::lock_guard lock(pub.mutex);
  if (!pub.held) return;
  if (!pub.heldThroughAWait) {
    pub.heldThroughAWait = true;
    return;
  }
  flushLocked(pub);
}

namespace log {

void setLevel(LogLevel level) noexcept { publisher().minLevel.store(level, std::memory_order_relaxed); }

bool enabled(LogLevel level) noexcept { return level >= publisher().minLevel.load(std::memory_order_relaxed); }

void emit(LogLevel level, std::string_view text) { emit(level, LogContext::current(), text); }

void emit(LogLevel level, std::string_view system, std::string_view text) {
  if (!enabled(level)) return;
  publish(LogEvent{std::chrono::system_clock::now(), level, system, text});
}

void emitFields(LogLevel level, std::string_view text, std::span<const LogField> fields) {
  if (!enabled(level)) return;
  publish(LogEvent{std::chrono::system_clock::now(), level, LogContext::current(), text, fields});
}

void vemit(LogLevel level, fmt::string_view format, fmt::format_args args) {
  if (!enabled(level)) return;
  fmt::memory_buffer text;
  fmt::vformat_to(fmt::appender(text), format, args);
  emit(level, std::string_view(text.data(), text.size()));
}

}  // namespace log
}  // namespace cppd
