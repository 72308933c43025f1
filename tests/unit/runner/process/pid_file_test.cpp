#include "process/pid_file.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

#include "unit/support/as_nobody.hpp"
#include "unit/support/runner_test_support.hpp"

using cppd::runner::PidFile;
using cppd::test::LogCapture;
using cppd::test::slurp;
using cppd::test::spit;
using cppd::test::TempDir;

TEST_CASE("A pidfile holds the PID and a newline, mode 0644 whatever the umask", "[runner]") {
  TempDir dir;
  LogCapture log;
  const mode_t old = ::umask(077);
  {
    PidFile pid(dir / "cppd.pid");
    CHECK(slurp(dir / "cppd.pid") == std::to_string(::getpid()) + "\n");
    struct stat st {};
    REQUIRE(::stat((dir / "cppd.pid").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    pid.writePid(4242);
    CHECK(slurp(dir / "cppd.pid") == "4242\n");
    CHECK(PidFile::readPid(dir / "cppd.pid") == 4242);
    pid.remove();
  }
  ::umask(old);
  CHECK_FALSE(std::filesystem::exists(dir / "cppd.pid"));
  CHECK(log.lines().empty());
}

TEST_CASE("A second taker of a locked pidfile is told who runs, exit 75", "[runner]") {
  TempDir dir;
  PidFile first(dir / "cppd.pid");
  first.writePid(31337);
  try {
    PidFile second(dir / "cppd.pid");  // a second open file description: flock conflicts even in one process
    FAIL("the second pidfile was taken");
  } catch (const cppd::Error& e) {
    CHECK(e.kind() == cppd::ErrorKind::alreadyRunning);
    CHECK(cppd::exitCodeFor(e.kind()) == 75);
    CHECK(std::string(e.what()) ==
          "Another cppd server is running, PID 31337 (pidfile " + (dir / "cppd.pid") + ")");
  }
  CHECK(slurp(dir / "cppd.pid") == "31337\n");  // untouched
}

TEST_CASE("A pidfile held by another process refuses the start", "[runner]") {
  TempDir dir;
  int ready[2];
  int release[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(release) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 0;
    try {
      PidFile held(dir / "cppd.pid");
      (void)!::write(ready[1], "x", 1);
      char c;
      (void)!::read(release[0], &c, 1);
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  CHECK_THROWS_WITH(PidFile(dir / "cppd.pid"),
                    "Another cppd server is running, PID " + std::to_string(child) + " (pidfile " +
                        (dir / "cppd.pid") + ")");
  REQUIRE(::write(release[1], "x", 1) == 1);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  // The holder died without removing the file: it is stale now and can be taken.
  LogCapture log;
  PidFile after(dir / "cppd.pid");
  CHECK(PidFile::readPid(dir / "cppd.pid") == ::getpid());
  CHECK(log.contains("Removing stale pidfile " + (dir / "cppd.pid")));
  for (int fd : {ready[0], ready[1], release[0], release[1]}) ::close(fd);
}

TEST_CASE("A stale pidfile (lock free) is replaced with a log line", "[runner]") {
  TempDir dir;
  spit(dir / "cppd.pid", "1\n");  // PID 1 is alive: only the lock decides, so a reused PID never blocks
  LogCapture log;
  PidFile pid(dir / "cppd.pid");
  CHECK(slurp(dir / "cppd.pid") == std::to_string(::getpid()) + "\n");
  CHECK(log.contains("Removing stale pidfile " + (dir / "cppd.pid")));
}

TEST_CASE("A pidfile with non-numeric content is stale, with a message", "[runner]") {
  TempDir dir;
  spit(dir / "cppd.pid", "garbage\x01");
  LogCapture log;
  PidFile pid(dir / "cppd.pid");
  CHECK(slurp(dir / "cppd.pid") == std::to_string(::getpid()) + "\n");
  CHECK(log.contains("contains non-numeric value 'garbage\\x01'; treating it as stale"));
}

TEST_CASE("Writing a shorter PID over a longer one leaves no trailing bytes", "[runner]") {
  TempDir dir;
  spit(dir / "cppd.pid", "123456789\n");
  LogCapture log;
  PidFile pid(dir / "cppd.pid");
  pid.writePid(7);
  CHECK(slurp(dir / "cppd.pid") == "7\n");
}

TEST_CASE("An unopenable pidfile is an error naming it", "[runner]") {
  TempDir dir;
  CHECK_THROWS_WITH(PidFile(dir / "missing/cppd.pid"),
                    Catch::Contains(dir / "missing") && Catch::Contains("No such file or directory"));
}

// Root may unlink in any directory, so as root the pidfile's life runs in a child that is nobody and owns the
// directory; as anyone else the child keeps the caller's ids. Either way the test runs, never skips.
TEST_CASE("A pidfile that cannot be unlinked is truncated instead", "[runner]") {
  TempDir dir;
  if (::geteuid() == 0) REQUIRE(::chown(dir.path().c_str(), cppd::test::kNobody, cppd::test::kNogroup) == 0);
  const int status = cppd::test::runAsNobody([&] {
    LogCapture log;
    {
      PidFile pid(dir / "cppd.pid");
      ::chmod(dir.path().c_str(), 0500);
      pid.remove();
      ::chmod(dir.path().c_str(), 0700);
    }
    const bool truncated = std::filesystem::exists(dir / "cppd.pid") && slurp(dir / "cppd.pid").empty();
    return truncated && log.contains("truncated it instead");
  });
  CHECK(status == 0);
  CHECK(slurp(dir / "cppd.pid").empty());
}

TEST_CASE("Removing a pidfile works after chdir", "[runner]") {
  TempDir dir;
  const auto before = std::filesystem::current_path();
  {
    PidFile pid(dir / "cppd.pid");
    std::filesystem::current_path("/");
    pid.remove();
  }
  std::filesystem::current_path(before);
  CHECK_FALSE(std::filesystem::exists(dir / "cppd.pid"));
}
