#include "log_file.hpp"

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

// The numbers N of the existing "<base>.N" files (N >= 1), highest first.
std::vector<unsigned long> rotatedNumbers(int dirFd, const std::string& base) {
  std::vector<unsigned long> numbers;
  const int fd = ::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return numbers;
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return numbers;
  }
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

}  // namespace

LogFile::LogFile(LogFileOptions options) : options_(std::move(options)) {
  if (!options_.reportError) {
    options_.reportError = [](std::string_view message) {
      std::fprintf(stderr, "cppd: %.*s\n", static_cast<int>(message.size()), message.data());
    };
  }
  const std::filesystem::path p(options_.path);
  base_ = p.filename().string();
  dir_ = p.has_parent_path() ? p.parent_path().string() : std::string(".");
  dirFd_ = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirFd_ < 0) throw Error(ErrorKind::cantCreate, systemError("open log file", options_.path, errno).what());
  std::lock_guard lock(mutex_);
  try {
    openLocked(true);
  } catch (...) {
    ::close(dirFd_);
    throw;
  }
}

LogFile::~LogFile() {
  if (fd_ >= 0) ::close(fd_);
  if (dirFd_ >= 0) ::close(dirFd_);
}

void LogFile::openLocked(bool first) {
  struct stat before {};
  const bool existed = ::fstatat(dirFd_, base_.c_str(), &before, 0) == 0;
  const mode_t createMode = first ? 0666 : (mode_ ? mode_ : 0644);
  // O_NOFOLLOW: the file is opened as root and then given to the service's user, so a symlink planted in a
  // directory that user can write must not lead it to /etc/shadow.
  const int fd = ::openat(dirFd_, base_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
                          createMode);
  if (fd < 0) {
    const int err = errno;
    if (first) throw Error(ErrorKind::cantCreate, systemError("open log file", options_.path, err).what());
    throw std::system_error(err, std::generic_category());
  }
  struct stat st {};
  ::fstat(fd, &st);
  const bool regular = S_ISREG(st.st_mode);
  if (regular) {
    if (first) mode_ = st.st_mode & 07777;       // an existing file keeps its mode; a new one got the umask
    else if (!existed) ::fchmod(fd, mode_);      // rotated files keep the mode (twistd)
    // Owned by the service's user, so it can still be reopened and rotated after the privilege drop.
    // A file with other hard links could be someone else's file linked in: never give that one away.
    if ((options_.owner || options_.group) && ::geteuid() == 0 && st.st_nlink == 1) {
      if (::fchown(fd, options_.owner.value_or(static_cast<uid_t>(-1)),
                   options_.group.value_or(static_cast<gid_t>(-1))) != 0) {
        report("chown", fmt::format("chown log file {}: {}", options_.path, std::strerror(errno)));
      }
    }
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  if (regular && st.st_size == 0) midLine_ = false;  // a fresh file has no fragment to end
  regular_ = regular;
  size_ = regular ? static_cast<std::uint64_t>(st.st_size) : 0;
}

void LogFile::report(const std::string& key, const std::string& message) {
  const std::string tagged = "|" + key + "|";
  if (reported_.find(tagged) != std::string::npos) return;
  reported_ += tagged;
  options_.reportError(message);
  if (fd_ >= 0 && key != "write") {  // leave a trace in the log itself when it still takes writes
    LogEvent event{std::chrono::system_clock::now(), LogLevel::error, "cppd.logfile", message};
    std::string line;
    formatLogLine(event, line);
    int err = 0;
    append(line, err);
  }
}

bool LogFile::append(std::string_view text, int& err) {
  std::size_t written = 0;
  const bool ok = writeAll(fd_, text, err, written);
  size_ += written;
  if (written > 0) midLine_ = text[written - 1] != '\n';
  return ok;
}

void LogFile::writeLocked(std::string_view data) {
  if (regular_ && options_.maxSize && size_ >= options_.maxSize) rotateLocked();  // check before write
  int err = 0;
  if (lostLines_) {
    // Tell the reader what is missing once writes work again. A full disk often takes half a line (write(2)
    // stores what fits): end that fragment first, so the notice is a line of its own.
    const std::string text = fmt::format("{} log lines were lost: {}", lostLines_, lostReason_);
    LogEvent event{std::chrono::system_clock::now(), LogLevel::error, "cppd.logfile", text};
    std::string notice = midLine_ ? "\n" : "";
    formatLogLine(event, notice);
    if (!append(notice, err)) {
      ++lostLines_;
      return;
    }
    lostLines_ = 0;
    reported_.clear();
  }
  if (append(data, err)) return;
  // A full disk or a failing device must not take the server down: count, report once, go on.
  ++lostLines_;
  lostReason_ = fmt::format("write log file {}: {}", options_.path, std::strerror(err));
  report("write", lostReason_ + " (lines are dropped until writing works again; the server keeps running)");
}

void LogFile::observe(const LogEvent& event) {
  std::lock_guard lock(mutex_);
  line_.clear();
  formatLogLine(event, line_);
  writeLocked(line_);
}

void LogFile::rotateLocked() {
  if (!regular_) return;  // never rename /dev/null or a FIFO
  if (::faccessat(dirFd_, ".", W_OK | X_OK, AT_EACCESS) != 0) {
    report("rotate", fmt::format("cannot rotate log file {}: directory {} is not writable ({}); the file keeps "
                                 "growing", options_.path, dir_, std::strerror(errno)));
    size_ = 0;  // try again after another maxSize bytes, not before every line
    return;
  }
  const auto numbered = [&](unsigned long n) { return fmt::format("{}.{}", base_, n); };
  for (const unsigned long n : rotatedNumbers(dirFd_, base_)) {
    const bool drop = options_.keep && n >= *options_.keep;
    const int moved = drop ? ::unlinkat(dirFd_, numbered(n).c_str(), 0)
                           : ::renameat(dirFd_, numbered(n).c_str(), dirFd_, numbered(n + 1).c_str());
    if (moved != 0 && errno != ENOENT) {
      // Going on would rename the live file over an older one and lose it: stop here and say why.
      report("rotate", fmt::format("cannot rotate log file {}: {} {}/{}: {}; the file keeps growing", options_.path,
                                   drop ? "remove" : "rename", dir_, numbered(n), std::strerror(errno)));
      size_ = 0;
      return;
    }
  }
  const int rc = options_.keep == 0u ? ::unlinkat(dirFd_, base_.c_str(), 0)
                                     : ::renameat(dirFd_, base_.c_str(), dirFd_, numbered(1).c_str());
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
  } catch (const std::system_error& e) {
    // The old descriptor stays: lines keep going to the renamed file rather than nowhere.
    report("reopen", fmt::format("reopen log file {}: {}; still writing to the previous file", options_.path,
                                 std::strerror(e.code().value())));
    size_ = 0;
  }
}

bool LogFile::pathNamesOpenFile() const {
  struct stat open {}, named {};
  return ::fstat(fd_, &open) == 0 && ::fstatat(dirFd_, base_.c_str(), &named, 0) == 0 &&
         open.st_ino == named.st_ino && open.st_dev == named.st_dev;
}

void LogFile::rotate() {
  std::lock_guard lock(mutex_);
  rotateLocked();
}

void LogFile::reopen() {
  std::lock_guard lock(mutex_);
  reopenLocked();
}

void LogFile::rotateOrReopen() {
  std::lock_guard lock(mutex_);
  if (pathNamesOpenFile()) rotateLocked();
  else reopenLocked();
}

void LogFile::checkRotatable() {
  std::lock_guard lock(mutex_);
  if (regular_ && ::faccessat(dirFd_, ".", W_OK | X_OK, AT_EACCESS) != 0) {
    report("rotate", fmt::format("log directory {} is not writable by uid {}: log file {} cannot be rotated or "
                                 "recreated", dir_, ::geteuid(), options_.path));
  }
}

bool LogFile::isRegularFile() const {
  std::lock_guard lock(mutex_);
  return regular_;
}

std::uint64_t LogFile::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

int LogFile::fd() const {
  std::lock_guard lock(mutex_);
  return fd_;
}

void StdoutObserver::observe(const LogEvent& event) {
  line_.clear();
  formatLogLine(event, line_);
  int err = 0;
  if (!writeAll(1, line_, err) && !reported_) {
    reported_ = true;
    std::fprintf(stderr, "cppd: write log to stdout: %s (further log lines are dropped)\n", std::strerror(err));
  }
}

}  // namespace cppd::runner
