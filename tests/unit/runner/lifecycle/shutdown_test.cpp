#include "lifecycle/shutdown.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/application.hpp>
#include <cppd/multi_service.hpp>
#include <cppd/reactor.hpp>
#include <cppd/stream_server_service.hpp>

#include "unit/support/loopback.hpp"
#include "unit/support/recording_service.hpp"
#include "unit/support/runner_test_support.hpp"

using cppd::runner::Shutdown;
using cppd::test::Journal;
using cppd::test::LogCapture;
using cppd::test::RecordingService;
using namespace std::chrono_literals;

namespace {

// What every shutdown test starts from: the log captured, a loop, and a started application demo(a, group(b, c))
// whose journal is empty.
struct StartedTree {
  LogCapture log;
  cppd::Reactor reactor;
  std::shared_ptr<Journal> journal = std::make_shared<Journal>();
  std::shared_ptr<cppd::Application> app = std::make_shared<cppd::Application>("demo");
  std::shared_ptr<cppd::MultiService> group = std::make_shared<cppd::MultiService>("group");
  std::shared_ptr<RecordingService> a = std::make_shared<RecordingService>("a", journal);
  std::shared_ptr<RecordingService> b = std::make_shared<RecordingService>("b", journal);
  std::shared_ptr<RecordingService> c = std::make_shared<RecordingService>("c", journal);

  StartedTree() {
    a->setServiceParent(*app);
    group->setServiceParent(*app);
    b->setServiceParent(*group);
    c->setServiceParent(*group);
    app->privilegedStartService();
    app->startService();
    journal->clear();
  }

  // Begins the shutdown on the loop's first iteration, then calls then(), and runs the loop until it ends.
  void beginAndRun(Shutdown& shutdown, const std::function<void()>& then = [] {}) {
    reactor.callLater(0ms, [&] {
      shutdown.begin();
      then();
    });
    reactor.run();
  }
};

// A plugin's service (web's, poetry's): a MultiService subclass holding a StreamServerService, with one client
// connected whose protocol stays when asked to stop (an ftp session with a login).
struct ServerTree {
  LogCapture log;
  cppd::Reactor reactor;
  std::shared_ptr<loopback::ScriptedFactory> factory = std::make_shared<loopback::ScriptedFactory>();
  std::shared_ptr<cppd::Application> app = std::make_shared<cppd::Application>("demo");
  std::shared_ptr<cppd::MultiService> plugin = std::make_shared<PluginService>("plugin");
  std::shared_ptr<cppd::StreamServerService> server;
  std::string received;
  std::thread client;
  std::vector<std::string> pendingWhenTheLoopEnded;

  struct PluginService final : cppd::MultiService {
    using MultiService::MultiService;
  };

  ServerTree() {
    server = std::make_shared<cppd::StreamServerService>(cppd::Endpoint::tcp(0, "127.0.0.1"), factory, reactor);
    server->setServiceParent(*plugin);
    plugin->setServiceParent(*app);
    factory->script.made = [this](loopback::ScriptedProtocol&) { reactor.stop(); };
    factory->script.stopRequested = [](loopback::ScriptedProtocol&) {};
    app->privilegedStartService();
    app->startService();
    client = std::thread([this, address = *server->boundAddress()] { received = loopback::Client(address).readAll(); });
    loopback::runWithDeadline(reactor);  // until connected
  }

  // Runs the shutdown to its end; returns how long the loop ran.
  std::chrono::steady_clock::duration run(Shutdown& shutdown) {
    reactor.callLater(0ms, [&] { shutdown.begin(); });
    const auto start = std::chrono::steady_clock::now();
    reactor.run();
    const auto took = std::chrono::steady_clock::now() - start;
    pendingWhenTheLoopEnded = shutdown.pending();
    reactor.closeAll();  // as the runner does: what is left closes now
    client.join();
    return took;
  }
};

}  // namespace

TEST_CASE_METHOD(ServerTree, "At the shutdown timeout, connections still open say their last word before the exit",
                 "[runner]") {
  factory->script.stopDeadline = [](loopback::ScriptedProtocol& p) {
    p.transport().write("421 bye\r\n");
    p.transport().loseConnection();
  };
  Shutdown shutdown(reactor, app, 50ms);
  run(shutdown);
  CHECK(shutdown.forced());
  CHECK(log.contains("Shutdown forced (the shutdown timeout of 0.05s expired); services not stopped: "
                     "demo/plugin"));
  CHECK(received == "421 bye\r\n");
  CHECK(factory->built.at(0)->deadlines == 1);
  CHECK(pendingWhenTheLoopEnded.empty());  // the connection closed (ending the wait) before the loop stopped
  CHECK(reactor.tryClose());
}

TEST_CASE_METHOD(ServerTree, "A connection that ignores the deadline holds the exit for the short grace only",
                 "[runner]") {
  Shutdown shutdown(reactor, app, 50ms);
  const auto took = run(shutdown);
  CHECK(shutdown.forced());
  CHECK(factory->built.at(0)->deadlines == 1);
  CHECK(pendingWhenTheLoopEnded == std::vector<std::string>{"demo/plugin"});
  // libuv counts timers in whole milliseconds of its cached loop time, truncated: each of the two timers (the
  // shutdown timeout, then the grace) can fire up to 1 ms of real time early (a rehearsal saw 349.96 ms).
  CHECK(took >= 50ms + Shutdown::kDeadlineGrace - 2ms);
  CHECK(took < 50ms + Shutdown::kDeadlineGrace + 5s);
  CHECK(received.empty());
  CHECK(reactor.tryClose());
}

TEST_CASE_METHOD(StartedTree, "Shutdown stops children in reverse order and ends the loop when all have stopped",
                 "[runner]") {
  Shutdown shutdown(reactor, app, 5s);
  beginAndRun(shutdown);
  CHECK(*journal == Journal{"stop c", "stop b", "stop a"});
  CHECK_FALSE(app->running());
  CHECK_FALSE(group->running());
  CHECK_FALSE(shutdown.forced());
  CHECK(reactor.tryClose());
}

TEST_CASE_METHOD(StartedTree, "Shutdown waits for a slow stop", "[runner]") {
  b->holdStop = true;
  Shutdown shutdown(reactor, app, 5s);
  beginAndRun(shutdown, [&] {
    CHECK(shutdown.pending() == std::vector<std::string>{"demo/group/b"});
    reactor.callLater(10ms, [&] { b->pendingStop.succeed(); });
  });
  CHECK_FALSE(shutdown.forced());
  CHECK(shutdown.pending().empty());
  CHECK(reactor.tryClose());
}

TEST_CASE_METHOD(StartedTree, "The shutdown timeout forces the exit and names the services not stopped", "[runner]") {
  a->holdStop = true;
  c->holdStop = true;
  Shutdown shutdown(reactor, app, 20ms);
  beginAndRun(shutdown);
  CHECK(shutdown.forced());
  CHECK(log.contains("Shutdown forced (the shutdown timeout of 0.02s expired); services not stopped: "
                     "demo/group/c, demo/a"));
  CHECK(reactor.tryClose());
}

TEST_CASE_METHOD(StartedTree, "Forcing (a second signal) ends the wait at once", "[runner]") {
  a->holdStop = true;
  Shutdown shutdown(reactor, app, 0ms);
  beginAndRun(shutdown, [&] { shutdown.force("second SIGTERM"); });
  CHECK(shutdown.forced());
  CHECK(log.contains("Shutdown forced (second SIGTERM); services not stopped: demo/a"));
  CHECK(reactor.tryClose());
}

TEST_CASE("Unnamed services are named by their class", "[runner]") {
  auto journal = std::make_shared<Journal>();
  RecordingService named("x", journal);
  CHECK(cppd::runner::serviceLabel(named) == "x");
  cppd::MultiService anonymous;
  CHECK(cppd::runner::serviceLabel(anonymous) == "cppd::MultiService");
}
