#pragma once

// The exit of last resort. The graceful shutdown (shutdown.hpp) and its forced exit run on the event loop, so a
// service that blocks the loop (an endless callback, a blocking call in startService) would leave SIGKILL as the
// only way to stop the server. The backstop watches the stop signals and the clock from a thread of its own and
// ends the process when the loop has not done so in time.

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "logging/log_format.hpp"

namespace cppd::runner {

class LogFile;
class PidFile;

class ShutdownBackstop {
 public:
  struct Settings {
    /// --shutdown-timeout; zero waits for ever after the first signal (only a second one forces).
    std::chrono::milliseconds timeout{0};
    /// How long the loop gets to finish the exit by itself (its own forced exit names the services that did
    /// not stop, and closes connections) before the backstop acts: after the timeout, or after a second signal.
    std::chrono::milliseconds grace{2000};
    /// Where the forced line goes: the log file, else syslog when syslog is set, else stdout.
    std::shared_ptr<LogFile> logFile;
    bool syslog = false;
    LogFormat logFormat = LogFormat::text;  // of the forced line on stdout or in the log file
    /// Removed when the backstop forces the exit, if the name still refers to the file we hold.
    const PidFile* pidFile = nullptr;
  };

  /// Chains a handler in front of the current SIGTERM and SIGINT handlers (the reactor's, which it still calls,
  /// so the loop sees every signal as before) and starts the watching thread with every signal blocked. Call it
  /// after the reactor subscribed to both signals, in the process that will serve (after any fork), at most
  /// once at a time. The handler only counts and posts a semaphore.
  /// When the backstop fires it writes the log lines still held back and "Shutdown forced (<why>) ..." to the
  /// log with write(2), bypassing the log's lock (which the blocked thread may hold), removes the pidfile and
  /// _exits with 70 without running any destructor or stopping any service.
  explicit ShutdownBackstop(Settings settings);
  /// Stops the thread and, if nobody replaced them since, puts the previous handlers back.
  ~ShutdownBackstop();
  ShutdownBackstop(const ShutdownBackstop&) = delete;
  ShutdownBackstop& operator=(const ShutdownBackstop&) = delete;

 private:
  void watch();
  [[noreturn]] void force(const std::string& why);
  void writeLogLine(const std::string& text);
  void removePidFile();

  Settings settings_;
  int pidFd_ = -1;
  int pidDirFd_ = -1;
  std::string pidBase_;
  std::thread thread_;
};

}  // namespace cppd::runner
