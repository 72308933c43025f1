#include <memory>

#include <catch2/catch.hpp>

#include <cppd/application.hpp>
#include <cppd/service.hpp>

TEST_CASE("An Application is a named collection with optional uid and gid", "[application]") {
  cppd::Application plain("fastpoetry");
  CHECK(plain.name() == "fastpoetry");
  CHECK_FALSE(plain.uid());
  CHECK_FALSE(plain.gid());
  CHECK_FALSE(plain.processName());

  cppd::Application owned("web", 65534u, 65534u);
  CHECK(owned.uid() == 65534u);
  CHECK(owned.gid() == 65534u);
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

TEST_CASE("An Application keeps a process name", "[application]") {
  cppd::Application app("x");
  app.setProcessName("poetryd");
  CHECK(app.processName() == std::optional<std::string>("poetryd"));
}
