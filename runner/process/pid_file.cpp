#include "process/pid_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <thread>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <cppd/posix/io.hpp>

namespace cppd::runner {
namespace {

constexpr std::chrono::seconds kExitingHolderWait{5};

// What the pidfile holds, at most its first 4 KiB (a PID is a few bytes: more is garbage, shown as such).
std::string contentOf(int fd) {
  std::string content;
  posix::readAll(fd, content, 4096);  // whatever the outcome, what was read is what there is to show
  return content;
}

// The PID in content, or -1: decimal digits, optionally followed by whitespace.
pid_t parsePid(const std::string& content) {
  std::size_t i = 0;
  long value = 0;
  while (i < content.size() && content[i] >= '0' && content[i] <= '9' && value < 100000000) {
    value = value * 10 + (content[i++] - '0');
  }
  if (i == 0 || value <= 0) return -1;
  for (; i < content.size(); ++i) {
    if (content[i] != '\n' && content[i] != ' ' && content[i] != '\r' && content[i] != '\t') return -1;
  }
  return static_cast<pid_t>(value);
}

std::string printable(const std::string& content) {
  std::string out;
  for (const char c : content.substr(0, 40)) {
    if (c >= 0x20 && c < 0x7f) out += c;
    else out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
  }
  return content.size() > 40 ? out + "..." : out;
}

// Whether pid is on its way out, so a lock it holds is about to go: a SIGKILL is pending for it, or it has begun
// to exit (PF_EXITING in /proc/PID/stat's flags) and is not yet a zombie whose every thread is gone (a zombie with
// threads left still holds their descriptors). kill -9 followed at once by a restart meets such a holder.
bool exiting(pid_t pid) {
  constexpr unsigned long kExitingFlag = 0x4;  // PF_EXITING, include/linux/sched.h
  constexpr unsigned long long kKillBit = 1ULL << (SIGKILL - 1);
  const auto read = [pid](const char* file) {
    std::string text;
    const posix::UniqueFd fd(::open(fmt::format("/proc/{}/{}", pid, file).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) posix::readAll(fd.get(), text, 16384);
    return text;
  };
  const std::string status = read("status");
  const std::string stat = read("stat");
  // status: one "Name:\tvalue" per line; 0 for a field not there.
  const auto field = [&status](std::string_view name, const char* format, auto* value) {
    const std::size_t at = status.find(fmt::format("\n{}:", name));
    if (at != std::string::npos) std::sscanf(status.c_str() + at + name.size() + 2, format, value);
  };
  unsigned long long pending = 0;
  unsigned long long shared = 0;
  unsigned threads = 0;
  field("SigPnd", "%llx", &pending);
  field("ShdPnd", "%llx", &shared);
  field("Threads", "%u", &threads);
  if (((pending | shared) & kKillBit) != 0) return true;
  // stat: after the command's closing parenthesis, state, ppid, pgrp, session, tty_nr, tpgid, flags.
  const std::size_t close = stat.rfind(')');
  char state = 0;
  unsigned long flags = 0;
  if (close == std::string::npos ||
      std::sscanf(stat.c_str() + close + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2) {
    return false;
  }
  if (state == 'Z' || state == 'X') return threads > 1;
  return (flags & kExitingFlag) != 0;
}

// Opens the directory of path; a missing directory is "cannot create" (73), as a missing file would be.
DirectoryEntry openEntry(const std::string& path) {
  try {
    return DirectoryEntry(path);
  } catch (const std::system_error& e) {
    const std::string dir = std::filesystem::path(path).parent_path().string();
    Error error = systemError("open pidfile directory", dir.empty() ? "." : dir, e.code().value());
    throw Error(ErrorKind::cantCreate, error.what());
  }
}

}  // namespace

PidFile::PidFile(std::string path, bool writeOwnPid) : path_(std::move(path)), entry_(openEntry(path_)) {
  try {
    lockOrThrow();
    if (writeOwnPid) {
      writePid(::getpid());
    } else if (::ftruncate(fd_.get(), 0) != 0) {
      throw systemError("write pidfile", path_, errno);
    }
  } catch (...) {
    fd_.reset();
    throw;
  }
}

PidFile::PidFile(std::string path, posix::UniqueFd locked)
    : path_(std::move(path)), entry_(openEntry(path_)), fd_(std::move(locked)) {
  if (!entry_.names(fd_.get())) {
    throw Error(ErrorKind::software, fmt::format("adopt pidfile {}: the descriptor handed over is not that file (a "
                                                 "reload cannot move the pidfile; restart to do that)", path_));
  }
}

void PidFile::openChecked() {
  // Nothing touches the file (no chmod, truncate, write, read) before it is known to be a regular file with
  // one link that this user owns: the name may have been planted (/dev/null, a hard link to a secret, a FIFO).
  OpenedEntry opened = entry_.open(O_RDWR | O_CREAT, 0644, OwnFileRules{{::geteuid()}, false});
  if (!opened.problem.empty()) {
    throw Error(ErrorKind::cantCreate,
                fmt::format("refuse pidfile {}: {}; cppd writes its pidfile only to a regular file with one link that "
                            "it owns: give --pidfile another path",
                            path_, opened.problem));
  }
  if (!opened.fd) {
    Error e = systemError("open pidfile", path_, opened.err);
    throw Error(opened.err == EACCES || opened.err == EROFS ? ErrorKind::cantCreate : e.kind(), e.what());
  }
  fd_ = std::move(opened.fd);
}

void PidFile::lockOrThrow() {
  for (int attempt = 0;; ++attempt) {
    openChecked();
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err != EWOULDBLOCK) throw systemError("lock pidfile", path_, err);
      // The holder writes its PID right after locking (a daemonizing one once its daemon exists); give it a
      // moment before saying "unknown".
      pid_t holder = parsePid(contentOf(fd_.get()));
      for (int i = 0; holder < 0 && i < 200; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        holder = parsePid(contentOf(fd_.get()));
      }
      const LockWait wait = waitForExitingHolder(holder);
      if (!wait.locked) {
        fd_.reset();
        if (wait.exiting) {
          throw Error(ErrorKind::alreadyRunning,
                      fmt::format("Another cppd server, PID {}, looks to be exiting but still holds pidfile {} after "
                                  "{} s: start again once it is gone",
                                  wait.holder, path_, kExitingHolderWait.count()));
        }
        throw Error(ErrorKind::alreadyRunning,
                    fmt::format("Another cppd server is running, PID {} (pidfile {})",
                                wait.holder > 0 ? std::to_string(wait.holder) : std::string("unknown"), path_));
      }
    }
    // The path may have been unlinked (or replaced) by the previous holder between our open and our lock: the
    // lock then protects nothing, so start again on whatever the path names now.
    if (entry_.names(fd_.get())) break;
    fd_.reset();
    if (attempt > 100) throw Error(ErrorKind::os, fmt::format("lock pidfile {}: it keeps being replaced", path_));
  }
  ::fchmod(fd_.get(), 0644);  // the umask may have narrowed the creation mode
  const std::string old = contentOf(fd_.get());
  if (!old.empty()) {
    if (parsePid(old) > 0) {
      log::warn("Removing stale pidfile {} (PID {} no longer holds its lock)", path_, parsePid(old));
    } else {
      log::warn("Pidfile {} contains non-numeric value '{}'; treating it as stale", path_, printable(old));
    }
  }
}

// A holder killed a moment ago (kill -9, then a restart at once) still has the lock while its threads exit:
// wait for it, at most kExitingHolderWait. One that shows no sign of exiting gets kRunningHolderGrace, the time
// between a SIGKILL's delivery and the first sign of it (PF_EXITING) in /proc. The PID is read again at every
// pass: another start may have taken the lock meanwhile, and that one is running.
PidFile::LockWait PidFile::waitForExitingHolder(pid_t holder) {
  constexpr std::chrono::milliseconds kRunningHolderGrace{50};
  const auto started = std::chrono::steady_clock::now();
  LockWait wait;
  wait.holder = holder;
  for (;;) {
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) == 0) {
      wait.locked = true;
      return wait;
    }
    const pid_t named = parsePid(contentOf(fd_.get()));
    if (named > 0 && named != wait.holder) {
      wait.holder = named;
      return wait;
    }
    const auto waited = std::chrono::steady_clock::now() - started;
    if (waited >= kRunningHolderGrace && (wait.holder <= 0 || !exiting(wait.holder))) return wait;
    if (waited >= kExitingHolderWait) {
      wait.exiting = true;
      return wait;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void PidFile::writePid(pid_t pid) {
  const std::string content = fmt::format("{}\n", pid);
  int error = posix::writeAllAt(fd_.get(), content, 0);
  if (error == 0 && (::ftruncate(fd_.get(), static_cast<off_t>(content.size())) != 0 || ::fsync(fd_.get()) != 0)) {
    error = errno;
  }
  if (error != 0) throw systemError("write pidfile", path_, error);
}

void PidFile::remove() {
  if (!fd_) return;
  if (entry_.names(fd_.get()) && ::unlinkat(entry_.dirFd(), entry_.name().c_str(), 0) != 0) {
    const int err = errno;
    if (::ftruncate(fd_.get(), 0) == 0) {
      log::warn("Could not remove pidfile {}: {}; truncated it instead (an empty pidfile is stale)", path_,
                std::strerror(err));
    } else {
      log::error("Could not remove pidfile {}: {}; nor truncate it: {}", path_, std::strerror(err),
                 std::strerror(errno));
    }
  }
  fd_.reset();
}

pid_t PidFile::readPid(const std::string& path) {
  const posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) return -1;
  struct stat st {};
  const bool regular = ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode);
  return regular ? parsePid(contentOf(fd.get())) : -1;
}

}  // namespace cppd::runner
