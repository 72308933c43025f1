#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>

#include <cppd/export.hpp>
#include <cppd/log_field.hpp>

namespace cppd {

enum class LogLevel { debug, info, warn, error, critical };

/// "debug", "info", "warn", "error", "critical".
CPPD_API std::string_view toString(LogLevel level) noexcept;

/// One log event. The views are valid only during ILogObserver::observe().
struct LogEvent {
  std::chrono::system_clock::time_point time;
  LogLevel level = LogLevel::info;
  std::string_view system;  // "-" when no context is set
  std::string_view text;
  /// Structured fields (log::event); empty for the plain calls. JSON lines carry them as members of their own;
  /// text lines (and syslog) show only the text, exactly as before, so an event's text should read well alone.
  std::span<const LogField> fields = {};
};

/// Receives every event at or above the minimum level. Thread affinity: observe() is called on the thread that
/// logged, under the log's lock, so observers are never called concurrently. It must not log itself and must
/// not throw (an exception escaping an observer is swallowed and reported once on stderr).
class CPPD_API ILogObserver {
 public:
  virtual ~ILogObserver();
  virtual void observe(const LogEvent& event) = 0;
};

/// An observer that may hold events back and write them together: while the thread that logs is inside a
/// LogBatch (the reactor's loop thread while run() runs), a buffering observer may keep the formatted lines until
/// log::flush() or the end of the outermost batch, so the lines of one loop iteration leave in one write. Events
/// logged outside a batch must reach the destination before observe() returns, after anything held back (order is
/// kept). Added next to ILogObserver rather than into it, so observers built against the older header keep working.
class CPPD_API IBufferedLogObserver : public ILogObserver {
 public:
  /// Writes out whatever observe() held back, in order. Thread-safe (called by log::flush() under the log's lock,
  /// from any thread); never throws: a destination that fails is handled as a failed observe() would be.
  virtual void flush() noexcept = 0;
};

/// Marks the calling thread as batching its log lines while it lives (see IBufferedLogObserver). Batches nest;
/// when the outermost one ends, log::flush() runs. The reactor opens one around run(), and before a wait for I/O
/// writes the lines that have already waited through one wait: a line waits for the rest of its loop iteration
/// and the next one (one write per two iterations, never more than one iteration's lines held while the loop
/// waits), and never longer than about kLogHoldLimit: while lines are held, a thread of the log flushes that
/// often, so a loop that goes on waiting, or an iteration that logs and then blocks (a plugin stuck in a call),
/// still gets its lines out. Not copyable; thread-local.
inline constexpr std::chrono::milliseconds kLogHoldLimit{100};

class CPPD_API LogBatch {
 public:
  LogBatch() noexcept;
  ~LogBatch();
  LogBatch(const LogBatch&) = delete;
  LogBatch& operator=(const LogBatch&) = delete;

  /// True on a thread inside a LogBatch.
  static bool active() noexcept;
};

/// Appends text to out with everything that could end a log line early, forge another line or drive a terminal
/// made visible, so one event always stays one line whatever a client sent:
///   - newline, carriage return and tab become "\n", "\r", "\t"; every other C0 control byte and DEL become
///     "\xHH" (ESC is "\x1b");
///   - C1 controls (U+0080..U+009F, which some terminals obey) and every byte that is not part of well-formed
///     UTF-8 (stray continuation bytes, overlong forms, surrogates, truncated sequences) become "\xHH" per byte;
///   - a backslash becomes "\\", so the escaped text is unambiguous and can be read back.
/// Well-formed UTF-8 otherwise (accented names, CJK) is copied unchanged. Thread-safe; throws only bad_alloc.
CPPD_API void appendEscapedLogText(std::string_view text, std::string& out);

/// twistd's line format: "YYYY-MM-DDTHH:MM:SS+ZZZZ [system] text\n" in local time, with system and text escaped
/// by appendEscapedLogText: one event is exactly one line (a multi-line text keeps its line breaks as "\n").
/// The event's fields are not shown: the line is twistd's whether or not the event has any.
/// Appends to out (no allocation when out has room). Thread-safe; the time prefix is cached per thread and
/// second, and a TZ change applies after tzset().
CPPD_API void formatLogLine(const LogEvent& event, std::string& out);

/// Sets the logging context ("system") of the calling thread for the lifetime of this object, like twistd's
/// per-connection "[Protocol,3,127.0.0.1]" prefix. Contexts nest; the previous one is restored on destruction.
class CPPD_API LogContext {
 public:
  /// Takes the text over (a temporary, such as a logPrefix() result).
  explicit LogContext(std::string&& system);
  /// Refers to system without copying it: the string must outlive this context (a connection's context string
  /// used around each of its callbacks). This keeps a per-read context free of allocations.
  explicit LogContext(const std::string& system) noexcept;
  explicit LogContext(std::string_view system) noexcept;
  explicit LogContext(const char* system) noexcept;
  ~LogContext();
  LogContext(const LogContext&) = delete;
  LogContext& operator=(const LogContext&) = delete;

  /// The calling thread's current system, "-" if none.
  static std::string_view current() noexcept;

 private:
  void push() noexcept;
  std::string owned_;
  std::string_view system_;
  const std::string_view* previous_ = nullptr;
};

namespace log {

/// Attaches an observer. Events logged before the first observer was attached (the last 200 of them) are
/// replayed into it, as twistd's log beginner does, so start-up messages reach the log file; until then critical
/// events are also written to stderr at once. Later observers get new events only. Every function in
/// cppd::log is thread-safe.
CPPD_API void addObserver(std::shared_ptr<ILogObserver> observer);

/// Detaches an observer, after flushing what it holds back; unknown observers are ignored.
CPPD_API void removeObserver(const std::shared_ptr<ILogObserver>& observer);

/// Detaches every observer and drops the start-up buffer (tests, and the runner at exit). Buffering starts
/// again, as if no observer had ever been attached; the level is left as it is.
CPPD_API void reset();

/// Writes out what every buffering observer holds back (IBufferedLogObserver::flush). Thread-safe; never throws.
/// Also runs before fork(), so a child never inherits lines that its parent still has to write.
CPPD_API void flush() noexcept;

/// Events below level are dropped before formatting. The default is info.
CPPD_API void setLevel(LogLevel level) noexcept;
CPPD_API bool enabled(LogLevel level) noexcept;

/// Publishes one event with the current context, or with an explicit system.
CPPD_API void emit(LogLevel level, std::string_view text);
CPPD_API void emit(LogLevel level, std::string_view system, std::string_view text);

/// Publishes one event with structured fields and the current context: an access log's
/// `log::event(LogLevel::info, "GET /x 200", {{"method", method}, {"status", 200}, {"bytes", size}})`.
/// The fields are copied only when the event must be kept (before the first observer); otherwise they are views.
CPPD_API void emitFields(LogLevel level, std::string_view text, std::span<const LogField> fields);
inline void event(LogLevel level, std::string_view text, std::initializer_list<LogField> fields) {
  if (enabled(level)) emitFields(level, text, std::span<const LogField>(fields.begin(), fields.size()));
}

/// Formats into a stack buffer (no heap allocation for lines up to 500 bytes) and publishes the result with
/// the current context. The helpers below call it so that each call site instantiates only a tiny template.
/// Throws fmt::format_error for a bad runtime format; observers never see such an event.
CPPD_API void vemit(LogLevel level, fmt::string_view format, fmt::format_args args);

template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(LogLevel::debug)) vemit(LogLevel::debug, format, fmt::make_format_args(args...));
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(LogLevel::info)) vemit(LogLevel::info, format, fmt::make_format_args(args...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(LogLevel::warn)) vemit(LogLevel::warn, format, fmt::make_format_args(args...));
}
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(LogLevel::error)) vemit(LogLevel::error, format, fmt::make_format_args(args...));
}
template <typename... Args>
void critical(fmt::format_string<Args...> format, Args&&... args) {
  vemit(LogLevel::critical, format, fmt::make_format_args(args...));
}

}  // namespace log
}  // namespace cppd
