#include "lifecycle/shutdown.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/application.hpp>
#include <cppd/multi_service.hpp>
#include <cppd/reactor.hpp>

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

}  // namespace

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
