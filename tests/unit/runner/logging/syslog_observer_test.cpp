#include "logging/syslog_observer.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/posix/io.hpp>
#include <cppd/posix/unique_fd.hpp>

#include "unit/support/skip.hpp"

using cppd::LogLevel;
using cppd::runner::SyslogObserver;

TEST_CASE("Syslog priorities follow the level; errors and worse are LOG_ERR and LOG_ALERT", "[runner]") {
  CHECK(SyslogObserver::priorityFor(LogLevel::debug) == LOG_DEBUG);
  CHECK(SyslogObserver::priorityFor(LogLevel::info) == LOG_INFO);
  CHECK(SyslogObserver::priorityFor(LogLevel::warn) == LOG_WARNING);
  CHECK(SyslogObserver::priorityFor(LogLevel::error) == LOG_ERR);
  CHECK(SyslogObserver::priorityFor(LogLevel::critical) == LOG_ALERT);
}

TEST_CASE("The syslog observer sends one escaped record per event, whatever the text holds", "[runner]") {
  const auto now = std::chrono::system_clock::now();
  CHECK(SyslogObserver::record(cppd::LogEvent{now, LogLevel::info, "-", ""}).empty());
  CHECK(SyslogObserver::record(cppd::LogEvent{now, LogLevel::info, "sys", "one line"}) == "[sys] one line");
  CHECK(SyslogObserver::record(cppd::LogEvent{now, LogLevel::error, "", "first\nsecond\n"}) ==
        "[-] first\\nsecond\\n");
  CHECK(SyslogObserver::record(cppd::LogEvent{now, LogLevel::info, "FTP,\x1b", "USER a\x1b[2J\r\nb\x7f"}) ==
        "[FTP,\\x1b] USER a\\x1b[2J\\r\\nb\\x7f");
}

namespace {

using cppd::posix::UniqueFd;

// What a child process got on its own /dev/log: the datagrams, each prefixed by its length, or kNoNamespace.
constexpr int kNoNamespace = 77;

// In a private mount namespace a tmpfs hides the real /dev, so the socket bound at /dev/log there is the one
// syslog(3) talks to: the observer runs unchanged, glibc's syslog included. Each datagram goes back to the
// parent through out as "<length>\n<bytes>". Child side only: ends with _exit.
[[noreturn]] void observeIntoPrivateDevLog(int out) {
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") != 0) {
    ::_exit(kNoNamespace);
  }
  const UniqueFd log(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, "/dev/log");
  if (!log || ::bind(log.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) ::_exit(2);
  {
    SyslogObserver observer("cppd-test");
    const auto now = std::chrono::system_clock::now();
    observer.observe(cppd::LogEvent{now, LogLevel::info, "sys", "one line"});
    observer.observe(cppd::LogEvent{now, LogLevel::info, "sys", ""});  // no text: nothing is sent
    observer.observe(cppd::LogEvent{now, LogLevel::error, "FTP", "first\nsecond"});
    observer.observe(cppd::LogEvent{now, LogLevel::critical, "", "100% %s %n %x"});  // never a format string
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(log.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0) break;  // EAGAIN: syslog(3) sends synchronously, so everything is queued already
    const std::string framed = std::to_string(n) + "\n" + std::string(buffer, static_cast<std::size_t>(n));
    if (cppd::posix::writeAll(out, framed) != 0) ::_exit(3);
  }
  ::_exit(0);
}

std::vector<std::string> unframe(std::string text) {
  std::vector<std::string> records;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::size_t length = std::stoul(text.substr(0, newline));
    records.push_back(text.substr(newline + 1, length));
    text.erase(0, newline + 1 + length);
  }
  return records;
}

}  // namespace

TEST_CASE("The syslog observer sends each event to /dev/log as one record with its priority", "[runner]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) observeIntoPrivateDevLog(writeEnd.get());
  writeEnd.reset();
  std::string framed;
  const int readError = cppd::posix::readAll(readEnd.get(), framed, 1 << 20);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == kNoNamespace) {
    return cppd::test::skipTest("needs a private mount namespace (root with CAP_SYS_ADMIN) to stand in for /dev/log");
  }
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(readError == 0);
  const std::vector<std::string> records = unframe(framed);
  REQUIRE(records.size() == 3);
  // "<facility * 8 + priority>timestamp ident[pid]: message": LOG_DAEMON is 3.
  const std::string ident = "cppd-test[" + std::to_string(child) + "]: ";
  CHECK_THAT(records[0], Catch::StartsWith("<" + std::to_string(3 * 8 + LOG_INFO) + ">") &&
                             Catch::EndsWith(ident + "[sys] one line"));
  CHECK_THAT(records[1], Catch::StartsWith("<" + std::to_string(3 * 8 + LOG_ERR) + ">") &&
                             Catch::EndsWith(ident + "[FTP] first\\nsecond"));
  CHECK_THAT(records[2], Catch::StartsWith("<" + std::to_string(3 * 8 + LOG_ALERT) + ">") &&
                             Catch::EndsWith(ident + "[-] 100% %s %n %x"));
}
