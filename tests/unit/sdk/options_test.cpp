#include <catch2/catch.hpp>
#include <chrono>
#include <cppd/endpoint.hpp>
#include <cppd/error.hpp>
#include <cppd/option_spec.hpp>
#include <cppd/options.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "detail/options_access.hpp"

namespace {

cppd::OptionValue value(cppd::OptionKind kind, std::string text, decltype(cppd::OptionValue::typed) typed,
                        bool given = true) {
  cppd::OptionValue v;
  v.kind = kind;
  v.text = std::move(text);
  v.typed = std::move(typed);
  v.given = given;
  return v;
}

void set(cppd::Options& options, const std::string& name, cppd::OptionValue value) {
  cppd::detail::OptionsAccess::set(options, name, std::move(value));
}

cppd::Options sample() {
  using cppd::OptionKind;
  cppd::Options opts;
  set(opts, "count", value(OptionKind::integer, "42", std::int64_t{42}));
  set(opts, "negative", value(OptionKind::integer, "-1", std::int64_t{-1}));
  set(opts, "port", value(OptionKind::port, "8080", std::uint64_t{8080}, false));
  set(opts, "big", value(OptionKind::count, "70000", std::uint64_t{70000}));
  set(opts, "timeout", value(OptionKind::seconds, "2.5", 2.5));
  set(opts, "name", value(OptionKind::string, "world", std::monostate{}, false));
  set(opts, "root", value(OptionKind::path, "/srv", std::monostate{}));
  set(opts, "loud", value(OptionKind::flag, "true", true));
  set(opts, "listen", value(OptionKind::endpoint, "8000", cppd::Endpoint::parse("8000")));
  return opts;
}

}  // namespace

TEST_CASE("Options gives each kind's typed value", "[plugin][options]") {
  const auto opts = sample();
  CHECK(opts.get<int>("count") == 42);
  CHECK(opts.get<long long>("negative") == -1);
  CHECK(opts.get<std::uint16_t>("port") == 8080);
  CHECK(opts.get<std::size_t>("big") == 70000u);
  CHECK(opts.get<double>("timeout") == 2.5);
  CHECK(opts.get<std::chrono::milliseconds>("timeout") == std::chrono::milliseconds(2500));
  CHECK(opts.get<std::string>("name") == "world");
  CHECK(opts.get<std::filesystem::path>("root") == std::filesystem::path("/srv"));
  CHECK(opts.get<bool>("loud"));
  CHECK(opts.get<cppd::Endpoint>("listen") == cppd::Endpoint::tcp(8000));
  CHECK(opts.get<cppd::Endpoint>("port") == cppd::Endpoint::tcp(8080));
  CHECK(opts.endpoint("listen", "127.0.0.1") == cppd::Endpoint::tcp(8000, "127.0.0.1"));
  CHECK(opts.text("timeout") == "2.5");
  CHECK(opts.given("count"));
  CHECK_FALSE(opts.given("port"));
  CHECK(opts.has("port"));
}

TEST_CASE("Options has no fallback: an absent option is an error, or nullopt when read as optional",
          "[plugin][options]") {
  const auto opts = sample();
  CHECK_FALSE(opts.has("missing"));
  CHECK(opts.get<std::optional<std::string>>("missing") == std::nullopt);
  CHECK(opts.get<std::optional<int>>("count") == 42);
  CHECK_THROWS_AS(opts.get<int>("missing"), std::out_of_range);
  CHECK_THROWS_WITH(opts.text("missing"),
                    "option --missing has no value (it was not given and has no default: read it as std::optional)");
}

TEST_CASE("Options refuses a value that does not fit the type, naming option and value", "[plugin][options]") {
  const auto opts = sample();
  CHECK_THROWS_AS(opts.get<std::uint16_t>("big"), cppd::UsageError);
  CHECK_THROWS_WITH(opts.get<std::uint16_t>("big"), "option --big: '70000' is not a port number (0-65535)");
  CHECK_THROWS_WITH(opts.get<unsigned>("negative"), "option --negative: '-1' is out of range (0 to 4294967295)");
}

TEST_CASE("Options refuses a type its kind does not give: the plugin's mistake", "[plugin][options]") {
  const auto opts = sample();
  CHECK_THROWS_AS(opts.get<bool>("count"), std::logic_error);
  CHECK_THROWS_WITH(opts.get<int>("name"), "option --name is a TEXT option: it cannot be read as an integer");
  CHECK_THROWS_WITH(opts.get<cppd::Endpoint>("name"), "option --name is a TEXT option: it cannot be read as an endpoint");
  CHECK_THROWS_WITH(opts.get<std::chrono::milliseconds>("count"),
                    "option --count is a INT option: it cannot be read as a duration");
  CHECK(opts.get<std::string>("count") == "42");  // every value has its text
}

TEST_CASE("valueNameFor names each kind as help shows it", "[plugin][options]") {
  CHECK(cppd::valueNameFor(cppd::OptionKind::flag).empty());
  CHECK(cppd::valueNameFor(cppd::OptionKind::port) == "PORT");
  CHECK(cppd::valueNameFor(cppd::OptionKind::endpoint) == "ENDPOINT");
  CHECK(cppd::valueNameFor(cppd::OptionKind::integer) == "INT");
  CHECK(cppd::valueNameFor(cppd::OptionKind::path) == "PATH");
  CHECK(cppd::valueNameFor(cppd::OptionKind::count) == "COUNT");
}

// A plugin reads the options it is handed; only the runner records values (through detail::OptionsAccess).
template <typename O>
constexpr bool canSet = requires(O options, cppd::OptionValue value) { options.set("name", value); };
static_assert(!canSet<cppd::Options>, "Options::set must not be public API");
