#include "logging/log_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include <cppd/error.hpp>

namespace cppd::runner {
namespace {

// Writes all of data; on failure sets err, and written says how much of data went out before it.
bool writeAll(int fd, std::string_view data, int& err, std::size_t& written) {
  written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  return true;
}

bool writeAll(int fd, std::string_view data, int& err) {
  std::size_t written = 0;
  return writeAll(fd, data, err, written);
}

std::size_t lineCount(std::string_view lines) noexcept {
  return static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n'));
}

// Holds line for a loop iteration when the calling thread batches; false when it must be written now (no batch,
// or a line too big for the buffer even when empty). flush writes what the buffer holds.
template <typename Flush>
bool hold(LineBuffer& held, std::string_view line, Flush&& flush) {
  if (!LogBatch::active()) return false;
  if (held.append(line)) return true;
  flush();
  return held.append(line);
}

// The numbers N of the existing "<base>.N" files (N >= 1), highest first.
std::vector<unsigned long> rotatedNumbers(int dirFd, const std::string& base) {
  std::vector<unsigned long> numbers;
  posix::UniqueFd fd(::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return numbers;
  DIR* dir = ::fdopendir(fd.get());
  if (!dir) return numbers;
  fd.release();  // closedir closes it
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name.size() <= base.size() + 1 || name.substr(0, base.size()) != base || name[base.size()] != '.') continue;
    const std::string_view suffix = name.substr(base.size() + 1);
    if (suffix.find_first_not_of("0123456789") != std::string_view::npos || suffix.size() > 9) continue;
    const unsigned long n = std::strtoul(std::string(suffix).c_str(), nullptr, 10);
    if (n >= 1) numbers.push_back(n);  // like twistd's listLogs, ".0" and non-numbers are not ours
  }
  ::closedir(dir);
  std::sort(numbers.rbegin(), numbers.rend());
  return numbers;
}

// Opens the directory of path; a missing directory means the log cannot be created (73).
DirectoryEntry openEntry(const std::string& path) {
  try {
    return DirectoryEntry(path);
  } catch (const std::system_error& e) {
    throw Error(ErrorKind::cantCreate, systemError("open log file", path, e.code().value()).what());
  }
}

}  // namespace

LogFile::LogFile(LogFileOptions options) : options_(std::move(options)), entry_(openEntry(options_.path)) {
  linesLost_ = detail::builtinCounter("cppd_log_lines_lost_total", "Log lines that could not be written.");
  if (!options_.reportError) {
    options_.reportError = [](std::string_view message) {
      std::fprintf(stderr, "cppd: %.*s\n", static_cast<int>(message.size()), message.data());
    };
  }
  std::lock_guard lock(mutex_);
  openLocked(true);
}

LogFile::~LogFile() {
  std::lock_guard lock(mutex_);
  flushLocked();
  held_.setFd(-1);  // before the close, for the fatal-signal flush
  fd_.reset();
}

void LogFile::openLocked(bool first) {
  // Checked on the descriptor before anything is written, chmod'ed or chown'ed: the file is opened as root and
  // then given to the service's user, so a symlink, a hard link to someone else's file or another user's file
  // planted under the name is refused. /dev/null (any character device the operator names) is accepted.
  OwnFileRules rules{{::geteuid()}, true};
  if (options_.owner) rules.owners.push_back(*options_.owner);
  OpenedEntry opened = entry_.open(O_WRONLY | O_APPEND | O_CREAT, first ? 0666 : (mode_ ? mode_ : 0644), rules);
  if (!opened.fd) {
    const std::string reason = opened.problem.empty() ? std::strerror(opened.err) : opened.problem;
    const std::string message = opened.problem.empty()
                                    ? fmt::format("{} log file {}: {}", first ? "open" : "reopen", options_.path,
                                                  reason)
                                    : fmt::format("refuse log file {}: {}; cppd logs only to a regular file with "
                                                  "one link owned by it or the service's user, or to a device "
                                                  "such as /dev/null: give --logfile another path",
                                                  options_.path, reason);
    if (first) throw Error(ErrorKind::cantCreate, message);
    throw std::runtime_error(message);
  }
  const int fd = opened.fd.get();
  const struct stat& st = opened.status;
  const bool regular = S_ISREG(st.st_mode);
  if (regular) {
    if (first) mode_ = st.st_mode & 07777;       // an existing file keeps its mode; a new one got the umask
    else if (opened.created) ::fchmod(fd, mode_);  // rotated files keep the mode (twistd)
    // Owned by the service's user, so it can still be reopened and rotated after the privilege drop.
    if ((options_.owner || options_.group) && ::geteuid() == 0) {
      if (::fchown(fd, options_.owner.value_or(static_cast<uid_t>(-1)),
                   options_.group.value_or(static_cast<gid_t>(-1))) != 0) {
        report("chown", fmt::format("chown log file {}: {}", options_.path, std::strerror(errno)));
      }
    }
  }
  // The fatal-signal flush writes to held_'s descriptor: point it at the new file before the old one is closed,
  // so a crash in between never writes to a closed (or reused) descriptor.
  held_.setFd(fd);
  fd_ = std::move(opened.fd);  // closes the old one
  if (regular && st.st_size == 0) midLine_ = false;  // a fresh file has no fragment to end
  regular_ = regular;
  size_ = regular ? static_cast<std::uint64_t>(st.st_size) : 0;
}

void LogFile::report(const std::string& key, const std::string& message) {
  const std::string tagged = "|" + key + "|";
  if (reported_.find(tagged) != std::string::npos) return;
  reported_ += tagged;
  options_.reportError(message);
  if (fd_ && key != "write") {  // leave a trace in the log itself when it still takes writes
    LogEvent event{std::chrono::system_clock::now(), LogLevel::error, "cppd.logfile", message};
    std::string line;
    formatLine(options_.format, event, line);
    int err = 0;
    append(line, err);
  }
}

bool LogFile::append(std::string_view text, int& err, std::size_t& written) {
  const bool ok = writeAll(fd_.get(), text, err, written);
  size_ += written;
  if (written > 0) midLine_ = text[written - 1] != '\n';
  return ok;
}

bool LogFile::append(std::string_view text, int& err) {
  std::size_t written = 0;
  return append(text, err, written);
}

void LogFile::lose(std::uint64_t lines) noexcept {
  lostLines_ += lines;
  linesLost_.add(lines);
}

// Writes whole lines (one or a loop iteration's worth). Every line that does not get out whole is counted lost.
void LogFile::writeLocked(std::string_view data) {
  int err = 0;
  if (lostLines_) {
    // Tell the reader what is missing once writes work again. A full disk often takes half a line (write(2)
    // stores what fits): end that fragment first, so the notice is a line of its own.
    const std::string text = fmt::format("{} log lines were lost: {}", lostLines_, lostReason_);
    LogEvent event{std::chrono::system_clock::now(), LogLevel::error, "cppd.logfile", text};
    std::string notice = midLine_ ? "\n" : "";
    formatLine(options_.format, event, notice);
    if (!append(notice, err)) {
      lose(lineCount(data));
      return;
    }
    lostLines_ = 0;
    reported_.clear();
  }
  std::size_t written = 0;
  if (append(data, err, written)) return;
  // A full disk or a failing device must not take the server down: count, report once, go on.
  lose(lineCount(data.substr(written)));
  lostReason_ = fmt::format("write log file {}: {}", options_.path, std::strerror(err));
  report("write", lostReason_ + " (lines are dropped until writing works again; the server keeps running)");
}

void LogFile::observe(const LogEvent& event) {
  std::lock_guard lock(mutex_);
  line_.clear();
  formatLine(options_.format, event, line_);
  // Rotation is checked before each line, what is held back counting as written: a file that has reached the
  // size is rotated before the next line, held or not, so every file ends where it would without holding.
  if (regular_ && options_.maxSize && size_ + held_.size() >= options_.maxSize) {
    flushLocked();
    rotateLocked();
  }
  if (hold(held_, line_, [this] { flushLocked(); })) return;
  flushLocked();
  writeLocked(line_);
}

void LogFile::flush() noexcept {
  std::lock_guard lock(mutex_);
  flushLocked();
}

void LogFile::flushLocked() noexcept {
  if (held_.empty()) return;
  const std::string_view lines = held_.take();
  try {
    writeLocked(lines);
  } catch (const std::exception& e) {
    // Out of memory while reporting a write error: the lines are lost like those of a failed write.
    lose(lineCount(lines));
    lostReason_ = fmt::format("write log file {}: {}", options_.path, e.what());
  }
  held_.release();
}

void LogFile::rotateLocked() {
  if (!regular_) return;  // never rename /dev/null or a FIFO
  if (::faccessat(entry_.dirFd(), ".", W_OK | X_OK, AT_EACCESS) != 0) {
    report("rotate", fmt::format("cannot rotate log file {}: directory {} is not writable ({}); the file keeps "
                                 "growing", options_.path, entry_.directory(), std::strerror(errno)));
    size_ = 0;  // try again after another maxSize bytes, not before every line
    return;
  }
  const int dirFd = entry_.dirFd();
  const auto numbered = [&](unsigned long n) { return fmt::format("{}.{}", entry_.name(), n); };
  for (const unsigned long n : rotatedNumbers(dirFd, entry_.name())) {
    const bool drop = options_.keep && n >= *options_.keep;
    const int moved = drop ? ::unlinkat(dirFd, numbered(n).c_str(), 0)
                           : ::renameat(dirFd, numbered(n).c_str(), dirFd, numbered(n + 1).c_str());
    if (moved != 0 && errno != ENOENT) {
      // Going on would rename the live file over an older one and lose it: stop here and say why.
      report("rotate", fmt::format("cannot rotate log file {}: {} {}/{}: {}; the file keeps growing", options_.path,
                                   drop ? "remove" : "rename", entry_.directory(), numbered(n),
                                   std::strerror(errno)));
      size_ = 0;
      return;
    }
  }
  const int rc = options_.keep == 0u ? ::unlinkat(dirFd, entry_.name().c_str(), 0)
                                     : ::renameat(dirFd, entry_.name().c_str(), dirFd, numbered(1).c_str());
  if (rc != 0) {
    report("rotate", fmt::format("cannot rotate log file {}: {}; the file keeps growing", options_.path,
                                 std::strerror(errno)));
    size_ = 0;
    return;
  }
  reopenLocked();
}

void LogFile::reopenLocked() {
  try {
    openLocked(false);
    reported_.clear();
  } catch (const std::runtime_error& e) {
    // The old descriptor stays: lines keep going to the renamed file rather than nowhere.
    report("reopen", fmt::format("{}; still writing to the previous file", e.what()));
    size_ = 0;
  }
}

bool LogFile::pathNamesOpenFile() const { return entry_.names(fd_.get()); }

// Each of these first writes what is held into the file it was logged to: rotation and reopen stay line-exact.
void LogFile::rotate() {
  std::lock_guard lock(mutex_);
  flushLocked();
  rotateLocked();
}

void LogFile::reopen() {
  std::lock_guard lock(mutex_);
  flushLocked();
  reopenLocked();
}

void LogFile::rotateOrReopen() {
  std::lock_guard lock(mutex_);
  flushLocked();
  if (pathNamesOpenFile()) rotateLocked();
  else reopenLocked();
}

void LogFile::checkRotatable() {
  std::lock_guard lock(mutex_);
  flushLocked();
  if (regular_ && ::faccessat(entry_.dirFd(), ".", W_OK | X_OK, AT_EACCESS) != 0) {
    report("rotate", fmt::format("log directory {} is not writable by uid {}: log file {} cannot be rotated or "
                                 "recreated", entry_.directory(), ::geteuid(), options_.path));
  }
}

bool LogFile::isRegularFile() const {
  std::lock_guard lock(mutex_);
  return regular_;
}

void LogFile::leaveRotationToSupervisor() {
  std::lock_guard lock(mutex_);
  options_.maxSize = 0;
}

bool LogFile::rotateIfFull() {
  std::lock_guard lock(mutex_);
  if (!regular_ || options_.maxSize == 0 || !fd_) return false;
  struct stat info {};
  if (::fstat(fd_.get(), &info) != 0 || static_cast<std::uint64_t>(info.st_size) < options_.maxSize) return false;
  flushLocked();
  rotateLocked();
  return true;
}

std::uint64_t LogFile::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

int LogFile::fd() const {
  std::lock_guard lock(mutex_);
  return fd_.get();
}

StdoutObserver::StdoutObserver(LogFormat format) : format_(format) { held_.setFd(STDOUT_FILENO); }

StdoutObserver::~StdoutObserver() {
  std::lock_guard lock(mutex_);
  flushLocked();
}

void StdoutObserver::observe(const LogEvent& event) {
  std::lock_guard lock(mutex_);
  line_.clear();
  formatLine(format_, event, line_);
  if (hold(held_, line_, [this] { flushLocked(); })) return;
  flushLocked();
  writeLocked(line_);
}

void StdoutObserver::flush() noexcept {
  std::lock_guard lock(mutex_);
  flushLocked();
}

void StdoutObserver::flushLocked() noexcept {
  if (held_.empty()) return;
  writeLocked(held_.take());
  held_.release();
}

void StdoutObserver::writeLocked(std::string_view data) noexcept {
  int err = 0;
  if (!writeAll(STDOUT_FILENO, data, err) && !reported_) {
    reported_ = true;
    std::fprintf(stderr, "cppd: write log to stdout: %s (further log lines are dropped)\n", std::strerror(err));
  }
}

}  // namespace cppd::runner
