#pragma once

// The seam between the runner and the process-level system calls it makes while daemonizing and dropping
// privileges, so unit tests can assert the call sequence without forking (twistd's DaemonizeTests mock `os`).

#include <sys/types.h>

#include <cstddef>
#include <vector>

namespace cppd::runner {

/// Process primitives. Every method has the semantics (and the -1/errno convention) of the system call it is
/// named after. The real implementation is SystemPrimitives; tests substitute a recorder.
class IProcessPrimitives {
 public:
  virtual ~IProcessPrimitives();

  virtual pid_t fork() = 0;
  virtual pid_t setsid() = 0;
  virtual pid_t getpid() = 0;
  virtual pid_t waitpid(pid_t pid, int* status, int options) = 0;
  virtual int pipe(int fds[2]) = 0;  // O_CLOEXEC
  virtual int dup2(int from, int to) = 0;
  virtual int open(const char* path, int flags) = 0;
  virtual int close(int fd) = 0;
  virtual ssize_t read(int fd, void* buffer, std::size_t size) = 0;
  virtual ssize_t write(int fd, const void* buffer, std::size_t size) = 0;
  virtual int chdir(const char* path) = 0;
  virtual int chroot(const char* path) = 0;
  virtual mode_t umask(mode_t mask) = 0;
  /// Makes this process the reaper of its orphaned descendants (prctl PR_SET_CHILD_SUBREAPER), so the
  /// launcher can learn how the daemon died.
  virtual int setChildSubreaper() = 0;
  /// Closes every descriptor inherited at exec time (open when the program started and without FD_CLOEXEC),
  /// except those in keep.
  virtual void closeInheritedFds(const std::vector<int>& keep) = 0;
  [[noreturn]] virtual void exit(int code) = 0;  // _exit

  virtual int setgid(gid_t gid) = 0;
  virtual int setegid(gid_t gid) = 0;
  virtual int setuid(uid_t uid) = 0;
  virtual int seteuid(uid_t uid) = 0;
  virtual int initgroups(const char* user, gid_t gid) = 0;
  virtual int setgroups(std::size_t count, const gid_t* groups) = 0;
  virtual int getresuid(uid_t* ruid, uid_t* euid, uid_t* suid) = 0;
  virtual int getresgid(gid_t* rgid, gid_t* egid, gid_t* sgid) = 0;
  virtual uid_t geteuid() = 0;
};

/// The real system calls.
class SystemPrimitives final : public IProcessPrimitives {
 public:
  pid_t fork() override;
  pid_t setsid() override;
  pid_t getpid() override;
  pid_t waitpid(pid_t pid, int* status, int options) override;
  int pipe(int fds[2]) override;
  int dup2(int from, int to) override;
  int open(const char* path, int flags) override;
  int close(int fd) override;
  ssize_t read(int fd, void* buffer, std::size_t size) override;
  ssize_t write(int fd, const void* buffer, std::size_t size) override;
  int chdir(const char* path) override;
  int chroot(const char* path) override;
  mode_t umask(mode_t mask) override;
  int setChildSubreaper() override;
  void closeInheritedFds(const std::vector<int>& keep) override;
  [[noreturn]] void exit(int code) override;
  int setgid(gid_t gid) override;
  int setegid(gid_t gid) override;
  int setuid(uid_t uid) override;
  int seteuid(uid_t uid) override;
  int initgroups(const char* user, gid_t gid) override;
  int setgroups(std::size_t count, const gid_t* groups) override;
  int getresuid(uid_t* ruid, uid_t* euid, uid_t* suid) override;
  int getresgid(gid_t* rgid, gid_t* egid, gid_t* sgid) override;
  uid_t geteuid() override;
};

/// The process-wide SystemPrimitives.
IProcessPrimitives& systemPrimitives();

/// The descriptors (>= 3) that were open when the program started, i.e. inherited from the launching process.
/// Opens /dev/null onto whichever of fds 0, 1 and 2 is closed (OpenSSH's sanitise_stdfd). Started with stdout
/// closed, the first pipe or socket would otherwise become fd 1, and the daemon's stdio redirection or a
/// child's dup2 would silently replace it. Called first thing by the runner.
void ensureStandardDescriptors() noexcept;

/// Recorded by a static initializer of the runner library, before main.
const std::vector<int>& inheritedFdsAtStartup();

}  // namespace cppd::runner
