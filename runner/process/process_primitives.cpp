#include "process/process_primitives.hpp"

#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include <cppd/posix/unique_fd.hpp>

namespace cppd::runner {
namespace {

std::vector<int> listOpenFds() {
  std::vector<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return fds;
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9' && fd >= 3 && fd != own) fds.push_back(fd);
  }
  ::closedir(dir);
  return fds;
}

// Records the inherited descriptors before main runs, so nothing the program opens later is mistaken for one.
const std::vector<int>& startupFds() {
  static const std::vector<int> fds = listOpenFds();
  return fds;
}
[[maybe_unused]] const bool recordedAtStartup = !startupFds().empty() || true;

}  // namespace

IProcessPrimitives::~IProcessPrimitives() = default;

void ensureStandardDescriptors() noexcept {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    posix::UniqueFd null(::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY));  // lowest free: this very fd
    if (null.get() == fd) null.release();  // it is the standard descriptor now: keep it open
    if (null) ::dup2(null.get(), fd);
  }
}

const std::vector<int>& inheritedFdsAtStartup() { return startupFds(); }

pid_t SystemPrimitives::fork() { return ::fork(); }
pid_t SystemPrimitives::setsid() { return ::setsid(); }
pid_t SystemPrimitives::getpid() { return ::getpid(); }
pid_t SystemPrimitives::waitpid(pid_t pid, int* status, int options) { return ::waitpid(pid, status, options); }
int SystemPrimitives::pipe(int fds[2]) { return ::pipe2(fds, O_CLOEXEC); }
int SystemPrimitives::dup2(int from, int to) { return ::dup2(from, to); }
int SystemPrimitives::open(const char* path, int flags) { return ::open(path, flags | O_CLOEXEC); }
int SystemPrimitives::close(int fd) { return ::close(fd); }
ssize_t SystemPrimitives::read(int fd, void* buffer, std::size_t size) { return ::read(fd, buffer, size); }
ssize_t SystemPrimitives::write(int fd, const void* buffer, std::size_t size) { return ::write(fd, buffer, size); }
int SystemPrimitives::chdir(const char* path) { return ::chdir(path); }
int SystemPrimitives::chroot(const char* path) { return ::chroot(path); }
mode_t SystemPrimitives::umask(mode_t mask) { return ::umask(mask); }
int SystemPrimitives::setChildSubreaper() { return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

void SystemPrimitives::closeInheritedFds(const std::vector<int>& keep) {
  // Only descriptors that came from the launching process and are not close-on-exec: everything this program
  // opened itself (the event loop's epoll and wakeup fds, the log, the pidfile) is O_CLOEXEC and stays.
  // /proc/self/fd may be gone by now (a chroot has no /proc): fcntl alone tells whether each one is still open.
  for (const int fd : startupFds()) {
    if (std::find(keep.begin(), keep.end(), fd) != keep.end()) continue;
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) ::close(fd);  // a stray nobody here owns: no RAII to hand it to
  }
}

void SystemPrimitives::exit(int code) { ::_exit(code); }
int SystemPrimitives::setgid(gid_t gid) { return ::setgid(gid); }
int SystemPrimitives::setegid(gid_t gid) { return ::setegid(gid); }
int SystemPrimitives::setuid(uid_t uid) { return ::setuid(uid); }
int SystemPrimitives::seteuid(uid_t uid) { return ::seteuid(uid); }
int SystemPrimitives::initgroups(const char* user, gid_t gid) { return ::initgroups(user, gid); }
int SystemPrimitives::setgroups(std::size_t count, const gid_t* groups) { return ::setgroups(count, groups); }
int SystemPrimitives::getresuid(uid_t* r, uid_t* e, uid_t* s) { return ::getresuid(r, e, s); }
int SystemPrimitives::getresgid(gid_t* r, gid_t* e, gid_t* s) { return ::getresgid(r, e, s); }
uid_t SystemPrimitives::geteuid() { return ::geteuid(); }

IProcessPrimitives& systemPrimitives() {
  static SystemPrimitives primitives;
  return primitives;
}

}  // namespace cppd::runner
