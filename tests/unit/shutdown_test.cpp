#include "shutdown.hpp"

#include <chrono>
#include <memory>

#include <catch2/catch.hpp>

#include <cppd/application.hpp>
#include <cppd/multi_service.hpp>
#include <cppd/reactor.hpp>

#include "recording_service.hpp"
#include "runner_test_support.hpp"

using cppd::runner::Shutdown;
using cppd::test::Journal;
using cppd::test::LogCapture;
using cppd::test::RecordingService;
using namespace std::chrono_literals;

namespace {

struct Tree {
  std::shared_ptr<Journal> journal = std::make_shared<Journal>();
  std::shared_ptr<cppd::Application> app = std::make_shared<cppd::Application>("demo");
  std::shared_ptr<cppd::MultiService> group = std::make_shared<cppd::MultiService>("group");
  std::shared_ptr<RecordingService> a = std::make_shared<RecordingService>("a", journal);
  std::shared_ptr<RecordingService> b = std::make_shared<RecordingService>("b", journal);
  std::shared_ptr<RecordingService> c = std::make_shared<RecordingService>("c", journal);
  Tree() {
    a->setServiceParent(*app);
    group->setServiceParent(*app);
    b->setServiceParent(*group);
    c->setServiceParent(*group);
    app->privilegedStartService();
    app->startService();
    journal->clear();
  }
};

}  // namespace

TEST_CASE("Shutdown stops children in reverse order and ends the loop when all have stopped", "[runner]") {
  LogCapture log;
  cppd::Reactor reactor;
  Tree tree;
  Shutdown shutdown(reactor, tree.app, 5s);
  reactor.callLater(0ms, [&] { shutdown.begin(); });
  reactor.run();
  CHECK(*tree.journal == Journal{"stop c", "stop b", "stop a"});
  CHECK_FALSE(tree.app->running());
  CHECK_FALSE(tree.group->running());
  CHECK_FALSE(shutdown.forced());
  CHECK(reactor.tryClose());
}

TEST_CASE("Shutdown waits for a slow stop", "[runner]") {
  LogCapture log;
  cppd::Reactor reactor;
  Tree tree;
  tree.b->holdStop = true;
  Shutdown shutdown(reactor, tree.app, 5s);
  reactor.callLater(0ms, [&] {
    shutdown.begin();
    CHECK(shutdown.pending() == std::vector<std::string>{"demo/group/b"});
    reactor.callLater(10ms, [&] { tree.b->pendingStop.succeed(); });
  });
  reactor.run();
  CHECK_FALSE(shutdown.forced());
  CHECK(shutdown.pending().empty());
  CHECK(reactor.tryClose());
}

TEST_CASE("The shutdown timeout forces the exit and names the services not stopped", "[runner]") {
  LogCapture log;
  cppd::Reactor reactor;
  Tree tree;
  tree.a->holdStop = true;
  tree.c->holdStop = true;
  Shutdown shutdown(reactor, tree.app, 20ms);
  reactor.callLater(0ms, [&] { shutdown.begin(); });
  reactor.run();
  CHECK(shutdown.forced());
  CHECK(log.contains("Shutdown forced (the shutdown timeout of 0.02s expired); services not stopped: "
                     "demo/group/c, demo/a"));
  CHECK(reactor.tryClose());
}

TEST_CASE("Forcing (a second signal) ends the wait at once", "[runner]") {
  LogCapture log;
  cppd::Reactor reactor;
  Tree tree;
  tree.a->holdStop = true;
  Shutdown shutdown(reactor, tree.app, 0ms);
  reactor.callLater(0ms, [&] {
    shutdown.begin();
    shutdown.force("second SIGTERM");
  });
  reactor.run();
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
