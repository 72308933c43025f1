#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/completion.hpp>

using cppd::Completion;

TEST_CASE("A new completion is pending until it succeeds", "[completion]") {
  Completion c;
  CHECK_FALSE(c.fired());
  int calls = 0;
  c.whenDone([&](const std::optional<std::string>& failure) {
    ++calls;
    CHECK_FALSE(failure);
  });
  CHECK(calls == 0);
  c.succeed();
  CHECK(c.fired());
  CHECK(calls == 1);
}

TEST_CASE("A callback added after firing runs at once with the same result", "[completion]") {
  auto c = Completion::failed("port still open");
  std::optional<std::string> seen;
  c.whenDone([&](const std::optional<std::string>& failure) { seen = failure; });
  REQUIRE(seen);
  CHECK(*seen == "port still open");
  CHECK(c.failure() == std::optional<std::string>("port still open"));
}

TEST_CASE("Callbacks run in registration order", "[completion]") {
  Completion c;
  std::vector<int> order;
  for (int i = 0; i < 3; ++i) c.whenDone([&, i](const auto&) { order.push_back(i); });
  c.succeed();
  CHECK(order == std::vector<int>{0, 1, 2});
}

TEST_CASE("Copies of a completion share one state", "[completion]") {
  Completion a;
  Completion b = a;
  a.fail("boom");
  CHECK(b.fired());
  CHECK(b.failure() == std::optional<std::string>("boom"));
}

TEST_CASE("Firing a completion twice is refused", "[completion]") {
  Completion c;
  c.succeed();
  CHECK_THROWS_AS(c.succeed(), std::logic_error);
  CHECK_THROWS_AS(c.fail("again"), std::logic_error);
}

TEST_CASE("Completion::all fires once every part has fired", "[completion]") {
  Completion a, b;
  auto both = Completion::all({a, b});
  CHECK_FALSE(both.fired());
  b.succeed();
  CHECK_FALSE(both.fired());
  a.succeed();
  CHECK(both.fired());
  CHECK_FALSE(both.failure());
}

TEST_CASE("Completion::all joins the failures of its parts", "[completion]") {
  Completion a, b, c;
  auto every = Completion::all({a, b, c});
  a.fail("first");
  b.succeed();
  c.fail("third");
  REQUIRE(every.fired());
  CHECK(every.failure() == std::optional<std::string>("first; third"));
}

TEST_CASE("Completion::all of nothing has already fired", "[completion]") {
  CHECK(Completion::all({}).fired());
}
