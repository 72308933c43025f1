#include <memory>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include <cppd/multi_service.hpp>

#include "unit/support/recording_service.hpp"

using cppd::MultiService;
using cppd::test::Journal;
using cppd::test::RecordingService;

namespace {

struct Tree {
  std::shared_ptr<Journal> journal = std::make_shared<Journal>();
  std::shared_ptr<MultiService> root = std::make_shared<MultiService>("root");

  std::shared_ptr<RecordingService> add(const std::string& name) {
    auto s = std::make_shared<RecordingService>(name, journal);
    s->setServiceParent(*root);
    return s;
  }
};

}  // namespace

TEST_CASE("MultiService finds children by name", "[multiservice]") {
  Tree t;
  auto a = t.add("a");
  CHECK(t.root->getServiceNamed("a") == a);
}

TEST_CASE("getServiceNamed names the missing service", "[multiservice]") {
  Tree t;
  CHECK_THROWS_WITH(t.root->getServiceNamed("web"), "no service named 'web' in 'root'");
}

TEST_CASE("MultiService iterates children in insertion order", "[multiservice]") {
  Tree t;
  auto c = t.add("c");
  auto a = t.add("a");
  auto b = t.add("b");
  auto children = t.root->services();
  REQUIRE(children.size() == 3);
  CHECK(children[0] == c);
  CHECK(children[1] == a);
  CHECK(children[2] == b);
}

TEST_CASE("MultiService refuses a duplicate name and names it", "[multiservice]") {
  Tree t;
  t.add("dup");
  auto other = std::make_shared<cppd::Service>("dup");
  CHECK_THROWS_WITH(t.root->addService(other), "cannot have two services with same name 'dup'");
  CHECK(t.root->services().size() == 1);
}

TEST_CASE("Anonymous children are not limited", "[multiservice]") {
  Tree t;
  t.add("");
  t.add("");
  CHECK(t.root->services().size() == 2);
}

TEST_CASE("Adding the same child twice is refused", "[multiservice]") {
  Tree t;
  auto a = t.add("");
  CHECK_THROWS_AS(t.root->addService(a), std::logic_error);
}

TEST_CASE("MultiService starts children in order and stops them in reverse order", "[multiservice]") {
  Tree t;
  t.add("a");
  t.add("b");
  t.add("c");
  t.root->privilegedStartService();
  t.root->startService();
  auto stop = t.root->stopService();
  CHECK(stop.fired());
  CHECK(*t.journal == Journal{"privileged a", "privileged b", "privileged c", "start a", "start b", "start c",
                              "stop c", "stop b", "stop a"});
}

TEST_CASE("A later child's start and stop see the earlier child running", "[multiservice]") {
  Tree t;
  auto first = t.add("first");
  auto second = std::make_shared<RecordingService>("second", t.journal);
  second->setServiceParent(*t.root);
  t.root->startService();
  CHECK(first->running());
  second->holdStop = true;
  auto stop = t.root->stopService();
  // Both were asked at once, the later one first; the earlier one had not been stopped before it.
  CHECK(t.journal->at(2) == "stop second");
  CHECK(t.journal->at(3) == "stop first");
  CHECK_FALSE(stop.fired());
  second->pendingStop.succeed();
  CHECK(stop.fired());
}

TEST_CASE("The collection's stop waits for every child's stop", "[multiservice]") {
  Tree t;
  auto a = t.add("a");
  auto b = t.add("b");
  a->holdStop = true;
  b->holdStop = true;
  t.root->startService();
  auto stop = t.root->stopService();
  CHECK_FALSE(t.root->running());
  a->pendingStop.succeed();
  CHECK_FALSE(stop.fired());
  b->pendingStop.fail("connections did not drain");
  REQUIRE(stop.fired());
  CHECK(stop.failure() == std::optional<std::string>("connections did not drain"));
}

TEST_CASE("Adding to a running collection starts the child", "[multiservice]") {
  Tree t;
  t.root->startService();
  auto late = t.add("late");
  CHECK(late->running());
  CHECK(*t.journal == Journal{"privileged late", "start late"});
}

TEST_CASE("Removing a child from a running collection stops it", "[multiservice]") {
  Tree t;
  auto a = t.add("a");
  t.root->startService();
  auto done = a->disownServiceParent();
  CHECK(done.fired());
  CHECK_FALSE(a->running());
  CHECK(t.journal->back() == "stop a");
}

TEST_CASE("Removing a service that is not a child is refused", "[multiservice]") {
  Tree t;
  auto stranger = std::make_shared<cppd::Service>("stranger");
  CHECK_THROWS_AS(t.root->removeService(*stranger), std::invalid_argument);
}

TEST_CASE("A failed start stops the children already started, newest first", "[multiservice]") {
  Tree t;
  auto a = t.add("a");
  auto b = t.add("b");
  auto c = t.add("c");
  c->failStart = true;
  CHECK_THROWS_WITH(t.root->startService(), "cannot start c");
  CHECK_FALSE(t.root->running());
  CHECK_FALSE(a->running());
  CHECK_FALSE(b->running());
  CHECK(*t.journal == Journal{"start a", "start b", "start c", "stop b", "stop a"});
}

TEST_CASE("privilegedStartService reaches every child and propagates a failure", "[multiservice]") {
  Tree t;
  t.add("a");
  auto b = t.add("b");
  b->failPrivileged = true;
  CHECK_THROWS_WITH(t.root->privilegedStartService(), "cannot bind b");
  CHECK(*t.journal == Journal{"privileged a", "privileged b"});
}

TEST_CASE("Nested collections start and stop depth first", "[multiservice]") {
  Tree t;
  auto inner = std::make_shared<MultiService>("inner");
  inner->setServiceParent(*t.root);
  auto leaf = std::make_shared<RecordingService>("leaf", t.journal);
  leaf->setServiceParent(*inner);
  t.add("sibling");
  t.root->startService();
  CHECK(leaf->running());
  t.root->stopService();
  CHECK(*t.journal == Journal{"start leaf", "start sibling", "stop sibling", "stop leaf"});
}
