#pragma once

// Log destinations for the runner: twistd's LogFile (size rotation, .1 newest) made safe for daemons
// (rotation and reopen after the privilege drop, SIGHUP reopen for logrotate, never renaming a device, never
// dying of a full disk), and a stdout observer. Both hold back the lines the loop logs and write them
// together (IBufferedLogObserver), so a busy server pays one write(2) per two iterations rather than one per line.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <cppd/log.hpp>
#include <cppd/metrics.hpp>
#include <cppd/posix/unique_fd.hpp>

#include "logging/line_buffer.hpp"
#include "logging/log_format.hpp"
#include "posix/directory_entry.hpp"

namespace cppd::runner {

struct LogFileOptions {
  std::string path;                    // absolute
  std::uint64_t maxSize = 1000000;     // rotate when the file has reached this size; 0 = never
  std::optional<unsigned> keep;        // rotated files kept (.1 .. .keep); unset = unlimited (--logfile-keep 0)
  std::optional<uid_t> owner;          // chown the log to this user (when run as root before the drop)
  std::optional<gid_t> group;
  LogFormat format = LogFormat::text;  // --log-format; the file's own notices (lost lines) use it too
  /// Where problems with the log itself are reported (once per episode); stderr by default.
  std::function<void(std::string_view)> reportError;
};

/// A log file observer. Thread affinity: observe() may run on any thread (the log serialises it); rotate(),
/// reopen() and the signal handlers run on the loop thread; an internal mutex orders them, so no line is lost or
/// split across a rotation. The directory is held open, so rotation and reopen keep working after chdir/chroot.
/// Lines logged inside a LogBatch are held (up to LineBuffer::kCapacity bytes) until flush();
/// rotate(), reopen() and rotateOrReopen() write them first, into the file they were logged to, and so does the
/// destructor. Any other line is written before observe() returns.
class LogFile final : public IBufferedLogObserver {
 public:
  /// Opens (appending) or creates the file; an existing file keeps its mode. Throws cppd::Error (cantCreate)
  /// "open log file P: <reason>" if the directory is missing or the file cannot be opened for writing, and
  /// "refuse log file P: <reason>" for anything but a regular file with one link owned by this user or the
  /// service's user (or a character device such as /dev/null), checked before anything is written to it.
  explicit LogFile(LogFileOptions options);
  ~LogFile() override;

  void observe(const LogEvent& event) override;
  void flush() noexcept override;

  /// Renames .N to .N+1 (dropping those beyond keep), the file to .1, and opens a new file. Does nothing for
  /// anything but a regular file; a directory where renaming is refused is reported once and writing goes on.
  void rotate();
  /// Closes and opens the path again (logrotate's postrotate; SIGHUP). On failure keeps the old descriptor.
  void reopen();
  /// SIGUSR1: rotate, unless the file was already moved away by another tool (the path no longer names the
  /// open file), in which case reopen.
  void rotateOrReopen();
  /// In a worker of a multi-process run: never rotate by size here. The supervisor, whose view of the file's size
  /// includes every worker's lines, rotates and then has the workers reopen.
  void leaveRotationToSupervisor();
  /// In the supervisor: rotates when the file, written by every worker, has reached the size (fstat). Returns
  /// true when it rotated.
  bool rotateIfFull();
  /// After the privilege drop: reports once when rotation will be impossible (directory not writable).
  void checkRotatable();

  bool isRegularFile() const;
  std::uint64_t size() const;
  const std::string& path() const noexcept { return options_.path; }
  LogFormat format() const noexcept { return options_.format; }
  int fd() const;
  int dirFd() const noexcept { return entry_.dirFd(); }

 private:
  void openLocked(bool first);
  void rotateLocked();
  void reopenLocked();
  void flushLocked() noexcept;
  void writeLocked(std::string_view data);
  void lose(std::uint64_t lines) noexcept;
  // Write text, keeping size_ and midLine_ right; written says how much went out.
  bool append(std::string_view text, int& err, std::size_t& written);
  bool append(std::string_view text, int& err);
  void report(const std::string& key, const std::string& message);
  bool pathNamesOpenFile() const;

  LogFileOptions options_;
  DirectoryEntry entry_;
  mutable std::mutex mutex_;
  posix::UniqueFd fd_;
  bool regular_ = false;
  mode_t mode_ = 0;
  std::uint64_t size_ = 0;
  std::uint64_t lostLines_ = 0;
  Counter linesLost_;  // cppd_log_lines_lost_total: every line lost, also those already reported
  std::string lostReason_;
  bool midLine_ = false;  // a failed write left part of a line: the next line must start on a new one
  std::string reported_;  // keys of the problems already reported
  std::string line_;
  LineBuffer held_;  // the lines of the last loop iteration or two, not yet written
};

/// Writes lines in the given format to stdout (fd 1), held back inside a LogBatch as LogFile does. A write error
/// is reported once on stderr and then ignored. Thread-safe.
class StdoutObserver final : public IBufferedLogObserver {
 public:
  explicit StdoutObserver(LogFormat format = LogFormat::text);
  ~StdoutObserver() override;
  void observe(const LogEvent& event) override;
  void flush() noexcept override;

 private:
  void flushLocked() noexcept;
  void writeLocked(std::string_view data) noexcept;

  const LogFormat format_;
  std::mutex mutex_;
  std::string line_;
  LineBuffer held_;
  bool reported_ = false;
};

}  // namespace cppd::runner
