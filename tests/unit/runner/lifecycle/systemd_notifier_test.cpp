#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "lifecycle/systemd_notifier.hpp"
#include "unit/support/temp_dir.hpp"

namespace {

// A datagram socket standing in for systemd's notification socket, in a fresh temporary directory.
struct FakeNotifySocket {
  cppd::test::TempDir dir;
  std::string path = dir / "notify";
  int fd = -1;

  FakeNotifySocket() {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    struct timeval tv {5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  ~FakeNotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd);
  }
  std::string receive() const {
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    REQUIRE(n >= 0);
    return std::string(buf, static_cast<std::size_t>(n));
  }
};

}  // namespace

TEST_CASE("The notifier does nothing without NOTIFY_SOCKET", "[systemd]") {
  ::unsetenv("NOTIFY_SOCKET");
  auto notifier = cppd::runner::SystemdNotifier::fromEnvironment();
  CHECK_FALSE(notifier.enabled());
  notifier.ready("serving");  // must not fail or block
}

TEST_CASE("READY=1 and STOPPING=1 reach the notification socket with a status line", "[systemd]") {
  FakeNotifySocket socket;
  auto notifier = cppd::runner::SystemdNotifier::fromEnvironment();
  REQUIRE(notifier.enabled());
  notifier.ready("1 service running");
  CHECK(socket.receive() == "READY=1\nSTATUS=1 service running");
  notifier.stopping("Received SIGTERM, shutting down.");
  CHECK(socket.receive() == "STOPPING=1\nSTATUS=Received SIGTERM, shutting down.");
  notifier.mainPid(4242);
  CHECK(socket.receive() == "MAINPID=4242");
  notifier.watchdog();
  CHECK(socket.receive() == "WATCHDOG=1");
}

TEST_CASE("The watchdog interval is half of WATCHDOG_USEC when it is meant for this process", "[systemd]") {
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  auto mine = cppd::runner::SystemdNotifier::fromEnvironment();
  REQUIRE(mine.watchdogInterval());
  CHECK(mine.watchdogInterval()->count() == 1500000);

  ::setenv("WATCHDOG_PID", "1", 1);
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  CHECK_FALSE(cppd::runner::SystemdNotifier::fromEnvironment().watchdogInterval());
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST_CASE("A NOTIFY_SOCKET starting with @ names the abstract namespace", "[systemd]") {
  const std::string name = "cppd-notify-test-" + std::to_string(::getpid());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] stays '\0'
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())) == 0);
  struct timeval tv {5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setenv("NOTIFY_SOCKET", ("@" + name).c_str(), 1);
  cppd::runner::SystemdNotifier::fromEnvironment().ready("abstract");
  ::unsetenv("NOTIFY_SOCKET");
  char buf[256];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<std::size_t>(n)) == "READY=1\nSTATUS=abstract");
}
