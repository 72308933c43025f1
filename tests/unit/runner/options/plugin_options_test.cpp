#include "options/plugin_options.hpp"

#include <catch2/catch.hpp>
#include <cppd/error.hpp>
#include <string>
#include <vector>

using cppd::OptionKind;
using cppd::OptionSpec;
using cppd::runner::parsePluginOptions;

namespace {

std::vector<OptionSpec> helloSpecs() {
  std::vector<OptionSpec> specs{
      {"name", "n", "Who to greet.", "world", OptionKind::string, false, {}},
      {"count", "c", "How many.", "1", OptionKind::integer, false, {}},
      {"port", "p", "A port.", "8080", OptionKind::port, false, {}},
      {"root", "", "A directory.", "", OptionKind::path, true, {}},
      {"mode", "", "A mode.", "0644", OptionKind::octal, false, {}},
      {"limit", "", "A size.", "1k", OptionKind::size, false, {}},
      {"delay", "", "A delay.", "0.5", OptionKind::seconds, false, {}},
      {"loud", "l", "Shout.", "", OptionKind::flag, false, {}},
      {"greet", "", "Greet at all.", "true", OptionKind::flag, false, {}},
  };
  specs[1].validator = [](const std::string& value) {
    if (std::stoll(value) < 0) throw cppd::UsageError("count must be >= 0, got " + value);
  };
  return specs;
}

cppd::Options parse(const std::vector<std::string>& args) {
  return parsePluginOptions("hello", helloSpecs(), args, "/launch").options;
}

void checkUsageError(const std::vector<std::string>& args, const std::string& message) {
  INFO("args: " << args.size());
  CHECK_THROWS_AS(parse(args), cppd::UsageError);
  CHECK_THROWS_WITH(parse(args), message);
}

}  // namespace

TEST_CASE("Plugin options get their defaults, converted by kind", "[plugin][options]") {
  auto opts = parse({"--root", "data"});
  CHECK(opts.text("name") == "world");
  CHECK(opts.get<int>("count") == 1);
  CHECK(opts.get<std::uint16_t>("port") == 8080);
  CHECK(opts.text("root") == "/launch/data");
  CHECK(opts.get<int>("mode") == 0644);
  CHECK(opts.get<long long>("limit") == 1024);
  CHECK(opts.get<double>("delay") == 0.5);
  CHECK_FALSE(opts.flag("loud"));
  CHECK(opts.flag("greet"));
  CHECK(opts.given("root"));
  CHECK_FALSE(opts.given("name"));
}

TEST_CASE("Plugin options accept long, short and = forms and --no- for default-on flags", "[plugin][options]") {
  auto opts = parse({"-n", "you", "--count=3", "-p", "0", "--root=/abs", "--mode", "022", "--limit", "2M", "--delay",
                     "10", "-l", "--no-greet"});
  CHECK(opts.text("name") == "you");
  CHECK(opts.get<int>("count") == 3);
  CHECK(opts.get<int>("port") == 0);
  CHECK(opts.text("root") == "/abs");
  CHECK(opts.get<int>("mode") == 022);
  CHECK(opts.get<long long>("limit") == 2 * 1024 * 1024);
  CHECK(opts.flag("loud"));
  CHECK_FALSE(opts.flag("greet"));
}

TEST_CASE("Plugin option errors name the plugin, the option and the value", "[plugin][options]") {
  checkUsageError({"--root", "x", "--port", "abc"}, "hello: option --port: 'abc' is not a port number (0-65535)");
  checkUsageError({"--root", "x", "--port", "65536"}, "hello: option --port: '65536' is not a port number (0-65535)");
  checkUsageError({"--root", "x", "--count", "1.5"}, "hello: option --count: '1.5' is not an integer");
  checkUsageError({"--root", "x", "--mode", "99"},
                  "hello: option --mode: '99' is not an octal number (digits 0-7, like 022 or 0644)");
  checkUsageError({"--root", "x", "--limit", "12X"},
                  "hello: option --limit: '12X' is not a size (a number of bytes, optionally with a k, M or G suffix)");
  checkUsageError({"--root", "x", "--delay", "-1"},
                  "hello: option --delay: '-1' is not a duration in seconds (a non-negative number)");
  checkUsageError({}, "hello: option --root is required");
  checkUsageError({"--root", "x", "--bogus"}, "hello: unknown option --bogus");
  checkUsageError({"--root", "x", "-z"}, "hello: unknown option -z");
  checkUsageError({"--root"}, "hello: option --root needs a value");
  checkUsageError({"--root", "x", "extra"}, "hello: unexpected argument 'extra'");
  checkUsageError({"--root", "x", "--count=-2"}, "hello: option --count: count must be >= 0, got -2");
}

TEST_CASE("Plugin --help is reported without checking required options", "[plugin][options]") {
  auto parsed = parsePluginOptions("hello", helloSpecs(), {"--help"}, "/launch");
  CHECK(parsed.help);
}

TEST_CASE("A plugin default of the wrong kind is the plugin's fault, not a usage error", "[plugin][options]") {
  std::vector<OptionSpec> specs{{"port", "", "A port.", "http", OptionKind::port, false, {}}};
  try {
    parsePluginOptions("bad", specs, {}, "/");
    FAIL("no exception");
  } catch (const cppd::UsageError&) {
    FAIL("a usage error");
  } catch (const cppd::Error& e) {
    CHECK(e.kind() == cppd::ErrorKind::software);
    CHECK(std::string(e.what()) ==
          "plugin bad: default of option --port is invalid: 'http' is not a port number (0-65535)");
  }
}

TEST_CASE("Plugin help shows usage, description, kinds, defaults and required options", "[plugin][options]") {
  auto text = cppd::runner::pluginUsage("hello", "Says hello.", helloSpecs());
  CHECK(text.rfind("Usage: cppd [options] hello [plugin options]\n\nSays hello.\n\nOptions:\n", 0) == 0);
  CHECK(text.find("  -n, --name=TEXT") != std::string::npos);
  CHECK(text.find("Who to greet. [default: world]") != std::string::npos);
  CHECK(text.find("      --root=PATH") != std::string::npos);
  CHECK(text.find("A directory. (required)") != std::string::npos);
  CHECK(text.find("      --[no-]greet") != std::string::npos);
  CHECK(text.find("      --help") != std::string::npos);
}
