#pragma once

// A scripted IProcessPrimitives that records every call, for the daemonize and privilege tests (twistd's
// DaemonizeTests mock the os module the same way).

#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "process/process_primitives.hpp"

namespace cppd::test {

struct FakeExit {
  int code;
};

class FakeProcess : public runner::IProcessPrimitives {
 public:
  std::vector<std::string> calls;
  std::deque<pid_t> forks;                // results of successive fork() calls
  std::deque<std::string> reads;          // successive read() results; "" = EOF; "EINTR" = interrupted
  std::deque<std::pair<pid_t, int>> waits;  // successive waitpid results (pid, status)
  std::string written;
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  bool setuidWorks = true;   // false: setuid "succeeds" without changing anything (a broken drop)
  bool rootAfterDrop = false;  // setuid(0) keeps succeeding

  pid_t fork() override {
    calls.push_back("fork");
    const pid_t r = forks.empty() ? 0 : forks.front();
    if (!forks.empty()) forks.pop_front();
    return r;
  }
  pid_t setsid() override { return record("setsid", 1); }
  pid_t getpid() override { return 4321; }
  pid_t waitpid(pid_t pid, int* status, int options) override {
    calls.push_back("waitpid " + std::to_string(pid) + (options ? " nohang" : ""));
    if (waits.empty()) {
      errno = ECHILD;
      return -1;
    }
    const auto [p, s] = waits.front();
    waits.pop_front();
    *status = s;
    return p;
  }
  int pipe(int fds[2]) override {
    calls.push_back("pipe");
    fds[0] = 10;
    fds[1] = 11;
    return 0;
  }
  int dup2(int from, int to) override { return record("dup2 " + std::to_string(from) + " " + std::to_string(to), to); }
  int open(const char* path, int) override { return record(std::string("open ") + path, 12); }
  int close(int fd) override { return record("close " + std::to_string(fd), 0); }
  ssize_t read(int fd, void* buffer, std::size_t) override {
    calls.push_back("read " + std::to_string(fd));
    if (reads.empty()) return 0;
    const std::string next = reads.front();
    reads.pop_front();
    if (next == "EINTR") {
      errno = EINTR;
      return -1;
    }
    std::memcpy(buffer, next.data(), next.size());
    return static_cast<ssize_t>(next.size());
  }
  ssize_t write(int fd, const void* buffer, std::size_t size) override {
    calls.push_back("write " + std::to_string(fd));
    written.append(static_cast<const char*>(buffer), size);
    return static_cast<ssize_t>(size);
  }
  int chdir(const char* path) override { return record(std::string("chdir ") + path, 0); }
  int chroot(const char* path) override { return record(std::string("chroot ") + path, 0); }
  mode_t umask(mode_t mask) override { return static_cast<mode_t>(record("umask " + std::to_string(mask), 022)); }
  int setChildSubreaper() override { return record("subreaper", 0); }
  void closeInheritedFds(const std::vector<int>& keep) override {
    std::string s = "closeInheritedFds";
    for (int fd : keep) s += " " + std::to_string(fd);
    calls.push_back(s);
  }
  [[noreturn]] void exit(int code) override {
    calls.push_back("exit " + std::to_string(code));
    throw FakeExit{code};
  }
  int setgid(gid_t gid) override {
    rgid = egid = sgid = gid;
    return record("setgid " + std::to_string(gid), 0);
  }
  int setegid(gid_t gid) override {
    egid = gid;
    return record("setegid " + std::to_string(gid), 0);
  }
  int setuid(uid_t uid) override {
    if (uid == 0 && ruid != 0) return record("setuid 0", rootAfterDrop ? 0 : -1);  // regaining root
    if (setuidWorks) ruid = euid = suid = uid;
    return record("setuid " + std::to_string(uid), 0);
  }
  int seteuid(uid_t uid) override {
    euid = uid;
    return record("seteuid " + std::to_string(uid), 0);
  }
  int initgroups(const char* user, gid_t gid) override {
    return record(std::string("initgroups ") + user + " " + std::to_string(gid), 0);
  }
  int setgroups(std::size_t count, const gid_t* groups) override {
    return record("setgroups " + std::to_string(count) + " " + std::to_string(groups[0]), 0);
  }
  int getresuid(uid_t* r, uid_t* e, uid_t* s) override {
    *r = ruid;
    *e = euid;
    *s = suid;
    return 0;
  }
  int getresgid(gid_t* r, gid_t* e, gid_t* s) override {
    *r = rgid;
    *e = egid;
    *s = sgid;
    return 0;
  }
  uid_t geteuid() override { return euid; }

 private:
  int record(const std::string& call, int result) {
    calls.push_back(call);
    if (result < 0) errno = EPERM;
    return result;
  }
};

}  // namespace cppd::test
