#pragma once

// The pidfile, held under an flock for the daemon's whole life (libdaemon's discipline, not twistd's kill(pid,0)
// guess), so two simultaneous starts leave exactly one server and a reused PID never blocks a start.

#include <sys/types.h>

#include <string>

#include <cppd/posix/unique_fd.hpp>

#include "posix/directory_entry.hpp"

namespace cppd::runner {

class PidFile {
 public:
  /// Takes the pidfile at path (absolute): creates it if missing (mode 0644), refuses anything but a regular
  /// file with one link owned by this user before touching it (cantCreate, "refuse pidfile P: it is a
  /// character device, not a regular file; ..."), takes an exclusive flock, and
  /// writes the calling process's PID. A file whose lock is free is stale: it is taken over and the log says
  /// "Removing stale pidfile P" ("Pidfile P contains non-numeric value 'x'; treating it as stale" for garbage).
  /// Throws cppd::Error: alreadyRunning "Another cppd server is running, PID N (pidfile P)" when another
  /// process holds the lock; a system error naming the pidfile when it cannot be opened or locked.
  /// The descriptor is O_CLOEXEC and survives fork (flock locks belong to the open file description, so the
  /// daemon keeps the lock the launcher took). The directory is held open too, so removal works after
  /// chdir and chroot.
  /// writeOwnPid false (a launcher about to daemonize) leaves the file empty until writePid(daemon's PID), so a
  /// second start meanwhile waits for, and names, the daemon rather than a launcher about to exit.
  explicit PidFile(std::string path, bool writeOwnPid = true);
  /// A reload's new image: the pidfile at path is already this process's, open as locked (flock'ed, with this
  /// PID in it) by the previous image of this process. Re-checks it on the descriptor. Throws cppd::Error when
  /// fd is not that file.
  PidFile(std::string path, posix::UniqueFd locked);
  ~PidFile() = default;  // closes (releasing the lock) without removing; call remove() on a clean stop
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  /// Replaces the content with "PID\n", atomically for readers: the new bytes are written over the old with
  /// pwrite at offset 0, then the file is cut to their length and synced, so a reader never sees an empty file.
  void writePid(pid_t pid);

  /// Unlinks the file (if it is still ours) and releases the lock. If unlinking is not permitted (after a
  /// privilege drop, in a root-owned directory) the file is truncated instead and the log says so.
  void remove();

  const std::string& path() const noexcept { return path_; }
  int fd() const noexcept { return fd_.get(); }
  int dirFd() const noexcept { return entry_.dirFd(); }

  /// The PID recorded in the file at path, or -1 if it is missing, empty or not a number (for tests and tools).
  static pid_t readPid(const std::string& path);

 private:
  struct LockWait {
    bool locked = false;
    pid_t holder = -1;     // the PID the pidfile names at the end (-1: none)
    bool exiting = false;  // the holder still looked to be exiting when the wait ran out
  };

  void openChecked();
  void lockOrThrow();
  LockWait waitForExitingHolder(pid_t holder);

  std::string path_;
  DirectoryEntry entry_;
  posix::UniqueFd fd_;
};

}  // namespace cppd::runner
