#include <memory>
#include <stdexcept>

#include <catch2/catch.hpp>

#include <cppd/multi_service.hpp>
#include <cppd/service.hpp>

using cppd::MultiService;
using cppd::Service;

TEST_CASE("A service has the name it was given and no parent", "[service]") {
  auto s = std::make_shared<Service>("poetry");
  CHECK(s->name() == "poetry");
  CHECK(s->parent() == nullptr);
  CHECK_FALSE(s->running());
}

TEST_CASE("startService sets running and stopService clears it", "[service]") {
  auto s = std::make_shared<Service>();
  s->startService();
  CHECK(s->running());
  auto stop = s->stopService();
  CHECK(stop.fired());
  CHECK_FALSE(s->running());
}

TEST_CASE("setServiceParent makes the service a child of the collection", "[service]") {
  auto parent = std::make_shared<MultiService>("root");
  auto child = std::make_shared<Service>("child");
  child->setServiceParent(*parent);
  CHECK(child->parent() == parent.get());
  CHECK(parent->getServiceNamed("child") == child);
}

TEST_CASE("setName is refused once the service has a parent", "[service]") {
  auto parent = std::make_shared<MultiService>();
  auto child = std::make_shared<Service>("before");
  child->setName("renamed");
  CHECK(child->name() == "renamed");
  child->setServiceParent(*parent);
  CHECK_THROWS_WITH(child->setName("after"), "cannot change name when parent exists");
  CHECK(child->name() == "renamed");
}

TEST_CASE("setServiceParent to a new parent leaves the old one first", "[service]") {
  auto first = std::make_shared<MultiService>("first");
  auto second = std::make_shared<MultiService>("second");
  auto child = std::make_shared<Service>("child");
  child->setServiceParent(*first);
  child->setServiceParent(*second);
  CHECK(child->parent() == second.get());
  CHECK(first->services().empty());
  CHECK(second->services().size() == 1);
}

TEST_CASE("disownServiceParent removes the service from its parent", "[service]") {
  auto parent = std::make_shared<MultiService>();
  auto child = std::make_shared<Service>("child");
  child->setServiceParent(*parent);
  auto done = child->disownServiceParent();
  CHECK(done.fired());
  CHECK(child->parent() == nullptr);
  CHECK(parent->services().empty());
  CHECK_THROWS_AS(child->disownServiceParent(), std::logic_error);
}

TEST_CASE("A service refused by its parent is left without a parent", "[service]") {
  auto parent = std::make_shared<MultiService>();
  auto a = std::make_shared<Service>("same");
  auto b = std::make_shared<Service>("same");
  a->setServiceParent(*parent);
  CHECK_THROWS_WITH(b->setServiceParent(*parent), "cannot have two services with same name 'same'");
  CHECK(b->parent() == nullptr);
}

TEST_CASE("setServiceParent needs a service owned by a shared_ptr", "[service]") {
  MultiService parent;
  Service onStack("stack");
  CHECK_THROWS_AS(onStack.setServiceParent(parent), std::logic_error);
}
