#include "process/daemonize.hpp"

#include <sys/wait.h>

#include <csignal>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "unit/support/fake_process.hpp"

using cppd::runner::daemonize;
using cppd::runner::decodeStatus;
using cppd::runner::waitForDaemon;
using cppd::test::FakeExit;
using cppd::test::FakeProcess;
using Calls = std::vector<std::string>;

namespace {

int launcherExit(FakeProcess& os) {
  try {
    daemonize({5}, os);
  } catch (const FakeExit& e) {
    return e.code;
  }
  FAIL("the launcher returned instead of exiting");
  return -1;
}

int exitedWith(int code) { return code << 8; }

}  // namespace

TEST_CASE("The daemon double-forks, detaches and keeps only the status pipe and the given fds", "[runner]") {
  FakeProcess os;
  os.forks = {0, 0};
  auto result = daemonize({5, 6}, os);
  CHECK(result.isDaemon);
  CHECK(os.calls == Calls{"pipe", "subreaper", "fork", "close 10", "setsid", "fork", "open /dev/null",
                          "dup2 12 0", "dup2 12 1", "dup2 12 2", "close 12", "closeInheritedFds 5 6 11"});
  os.calls.clear();
  result.status.reportSuccess();
  CHECK(os.written == "0");
  CHECK(os.calls == Calls{"write 11", "close 11"});
  CHECK_FALSE(result.status.active());
}

TEST_CASE("The intermediate child exits at once", "[runner]") {
  FakeProcess os;
  os.forks = {0, 777};
  CHECK_THROWS_AS(daemonize({}, os), FakeExit);
  CHECK(os.calls == Calls{"pipe", "subreaper", "fork", "close 10", "setsid", "fork", "exit 0"});
}

TEST_CASE("The launcher closes its write end, waits for the report and exits 0 on success", "[runner]") {
  FakeProcess os;
  os.forks = {555};
  os.reads = {"0", ""};
  os.waits = {{555, exitedWith(0)}};
  CHECK(launcherExit(os) == 0);
  CHECK(os.calls == Calls{"pipe", "subreaper", "fork", "close 11", "read 10", "read 10", "close 10",
                          "waitpid 555", "exit 0"});
}

TEST_CASE("The launcher exits with the daemon's failure code", "[runner]") {
  FakeProcess os;
  os.forks = {555};
  os.reads = {"73 open log file /x/cppd.log: ", "Permission denied", ""};
  os.waits = {{555, exitedWith(0)}};
  CHECK(launcherExit(os) == 73);
}

TEST_CASE("Reads interrupted by a signal are retried", "[runner]") {
  FakeProcess os;
  os.reads = {"EINTR", "0", ""};
  os.waits = {{555, 0}};
  std::string message;
  CHECK(waitForDaemon(10, 555, os, message) == 0);
  CHECK(message.empty());
}

TEST_CASE("EOF without a report is a failure that says what became of the daemon, never a hang", "[runner]") {
  using Waits = decltype(FakeProcess::waits);
  struct Row {
    const char* what;
    Waits waits;  // the launcher's child (555) exits 0 once it has forked the daemon (556)
    int code;
    const char* message;
  };
  const Row rows[] = {
      {"the signal that killed the daemon", {{555, exitedWith(0)}, {556, SIGKILL}}, 70,
       "the daemon (PID 556) was killed by signal 9 (Killed) before reporting its startup"},
      {"the daemon's exit status, passed on", {{555, exitedWith(0)}, {556, exitedWith(3)}}, 3,
       "the daemon (PID 556) exited with status 3 before reporting its startup"},
      {"no daemon to wait for", {{555, exitedWith(0)}}, 70,
       "the daemon closed its status pipe without reporting its startup"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.what) {
      FakeProcess os;
      os.reads = {""};
      os.waits = row.waits;
      std::string message;
      CHECK(waitForDaemon(10, 555, os, message) == row.code);
      CHECK(message == row.message);
    }
  }
}

TEST_CASE("A failure report carries the code and the whole reason, cut to fit one pipe write", "[runner]") {
  FakeProcess os;
  cppd::runner::StatusReporter reporter(os, 11);
  reporter.reportFailure(69, "listen tcp:80: Address already in use");
  CHECK(os.written == "69 listen tcp:80: Address already in use");
  FakeProcess os2;
  cppd::runner::StatusReporter longReporter(os2, 11);
  longReporter.reportFailure(70, std::string(10000, 'x'));
  CHECK(os2.written.size() == 3000);
}

TEST_CASE("Status payloads decode to a code and a message", "[runner]") {
  std::string message;
  CHECK(decodeStatus("0", message) == 0);
  CHECK(message.empty());
  CHECK(decodeStatus("75 Another cppd server is running", message) == 75);
  CHECK(message == "Another cppd server is running");
  CHECK(decodeStatus("garbage", message) == 70);
  CHECK(message.find("unreadable status") != std::string::npos);
}

TEST_CASE("An unreported status pipe is closed when the reporter goes away", "[runner]") {
  FakeProcess os;
  { cppd::runner::StatusReporter reporter(os, 11); }
  CHECK(os.calls == Calls{"close 11"});
  CHECK(os.written.empty());
}
