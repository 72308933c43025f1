#include <memory>

#include <catch2/catch.hpp>

#include <cppd/application.hpp>
#include <cppd/service.hpp>

TEST_CASE("An Application is a named collection", "[application]") {
  cppd::Application app("fastpoetry");
  CHECK(app.name() == "fastpoetry");
  CHECK(app.services().empty());
}

TEST_CASE("An Application is a parent for plugin services", "[application]") {
  auto app = std::make_shared<cppd::Application>("fastpoetry");
  auto service = std::make_shared<cppd::Service>();
  service->setServiceParent(*app);
  CHECK(service->parent() == app.get());
  app->startService();
  CHECK(service->running());
  app->stopService();
  CHECK_FALSE(service->running());
}
