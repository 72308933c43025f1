#include <catch2/catch.hpp>
#include <cppd/error.hpp>
#include <cppd/option_spec.hpp>
#include <cppd/options.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>

TEST_CASE("Options gives typed access to the values it holds", "[plugin][options]") {
  cppd::Options opts;
  opts.set("count", "42", true);
  opts.set("port", "8080", false);
  opts.set("ratio", "2.5", true);
  opts.set("name", "world", false);
  CHECK(opts.get<int>("count") == 42);
  CHECK(opts.get<long long>("count") == 42);
  CHECK(opts.get<unsigned>("count") == 42u);
  CHECK(opts.get<std::uint16_t>("port") == 8080);
  CHECK(opts.get<double>("ratio") == 2.5);
  CHECK(opts.get<std::string>("name") == "world");
  CHECK(opts.given("count"));
  CHECK_FALSE(opts.given("port"));
  CHECK(opts.has("port"));
  CHECK_FALSE(opts.has("missing"));
  CHECK(opts.get<int>("missing", 7) == 7);
}

TEST_CASE("Options flags are true only for true, 1 or yes, and false when absent", "[plugin][options]") {
  cppd::Options opts;
  opts.set("a", "true", true);
  opts.set("b", "false", true);
  opts.set("c", "yes", true);
  CHECK(opts.flag("a"));
  CHECK_FALSE(opts.flag("b"));
  CHECK(opts.flag("c"));
  CHECK_FALSE(opts.flag("absent"));
  CHECK(opts.get<bool>("a"));
}

TEST_CASE("Options reports an absent value and a wrong type request", "[plugin][options]") {
  cppd::Options opts;
  opts.set("name", "abc", true);
  opts.set("big", "70000", true);
  opts.set("negative", "-1", true);
  CHECK_THROWS_WITH(opts.text("nope"), "option 'nope' has no value");
  CHECK_THROWS_AS(opts.get<int>("nope"), std::out_of_range);
  CHECK_THROWS_WITH(opts.get<int>("name"), "option --name: 'abc' is not an integer");
  CHECK_THROWS_AS(opts.get<int>("name"), cppd::UsageError);
  CHECK_THROWS_WITH(opts.get<std::uint16_t>("big"), "option --big: '70000' is not a port number (0-65535)");
  CHECK_THROWS_WITH(opts.get<unsigned>("negative"), "option --negative: '-1' is not a non-negative integer");
  CHECK_THROWS_WITH(opts.get<double>("name"), "option --name: 'abc' is not a number");
}

TEST_CASE("valueNameFor names each kind as help shows it", "[plugin][options]") {
  CHECK(cppd::valueNameFor(cppd::OptionKind::flag).empty());
  CHECK(cppd::valueNameFor(cppd::OptionKind::port) == "PORT");
  CHECK(cppd::valueNameFor(cppd::OptionKind::endpoint) == "ENDPOINT");
  CHECK(cppd::valueNameFor(cppd::OptionKind::integer) == "INT");
  CHECK(cppd::valueNameFor(cppd::OptionKind::path) == "PATH");
}
