#include "options/plugin_options.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cppd/endpoint.hpp>
#include <optional>
#include <stdexcept>
#include <cppd/error.hpp>
#include <string>
#include <vector>

using cppd::OptionKind;
using cppd::OptionSpec;
using cppd::runner::parsePluginOptions;

namespace {

std::vector<OptionSpec> helloSpecs() {
  std::vector<OptionSpec> specs{
      {.longName = "name", .shortName = "n", .help = "Who to greet.", .defaultValue = "world"},
      {.longName = "count", .shortName = "c", .help = "How many.", .defaultValue = "1", .kind = OptionKind::integer},
      {.longName = "port", .shortName = "p", .help = "A port.", .defaultValue = "8080", .kind = OptionKind::port},
      {.longName = "root", .help = "A directory.", .kind = OptionKind::path, .required = true},
      {.longName = "mode", .help = "A mode.", .defaultValue = "0644", .kind = OptionKind::octal},
      {.longName = "limit", .help = "A size.", .defaultValue = "1k", .kind = OptionKind::size},
      {.longName = "delay", .help = "A delay.", .defaultValue = "0.5", .kind = OptionKind::seconds},
      {.longName = "loud", .shortName = "l", .help = "Shout.", .kind = OptionKind::flag},
      {.longName = "greet", .help = "Greet at all.", .defaultValue = "true", .kind = OptionKind::flag},
      {.longName = "files", .help = "How many files.", .defaultValue = "3", .kind = OptionKind::count},
      {.longName = "listen", .help = "Where.", .kind = OptionKind::endpoint},
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
  CHECK_FALSE(opts.get<bool>("loud"));
  CHECK(opts.get<bool>("greet"));
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
  CHECK(opts.get<bool>("loud"));
  CHECK_FALSE(opts.get<bool>("greet"));
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
  std::vector<OptionSpec> specs{{.longName = "port", .help = "A port.", .defaultValue = "http", .kind = OptionKind::port}};
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

TEST_CASE("Plugin options are typed: endpoints, durations, counts and sizes, with no fallback", "[plugin][options]") {
  auto opts = parse({"--root", "x", "--listen", "tcp:0:interface=127.0.0.1", "--delay", "1.25", "--files", "7"});
  CHECK(opts.get<cppd::Endpoint>("listen") == cppd::Endpoint::tcp(0, "127.0.0.1"));
  CHECK(opts.get<std::chrono::milliseconds>("delay") == std::chrono::milliseconds(1250));
  CHECK(opts.get<std::size_t>("files") == 7);
  CHECK(opts.get<std::uint64_t>("limit") == 1024);
  CHECK(opts.get<unsigned>("mode") == 0644u);
  CHECK_FALSE(parse({"--root", "x"}).has("listen"));
  CHECK(parse({"--root", "x"}).get<std::optional<cppd::Endpoint>>("listen") == std::nullopt);
  CHECK_THROWS_AS(parse({"--root", "x"}).get<cppd::Endpoint>("listen"), std::out_of_range);
}

TEST_CASE("Counts and sizes refuse what does not fit, naming the value", "[plugin][options]") {
  checkUsageError({"--root", "x", "--files", "-1"}, "hello: option --files: '-1' is not a count (0 or more)");
  checkUsageError({"--root", "x", "--limit", "999999999999999G"},
                  "hello: option --limit: '999999999999999G' is not a size (a number of bytes, optionally with a k, "
                  "M or G suffix)");
}

TEST_CASE("Options parsed from a note's declarations get the code's validators run afterwards", "[plugin][options]") {
  // The note declares the options without their checks: parse against it, then validate against the code.
  std::vector<OptionSpec> noted = helloSpecs();
  for (auto& spec : noted) spec.validator = nullptr;
  const auto parsedFromNote = [&](const std::vector<std::string>& args) {
    return parsePluginOptions("hello", noted, args, "/launch").options;
  };
  using cppd::runner::runValidators;
  const auto refused = parsedFromNote({"--root", "x", "--count=-2"});  // the note alone lets it through
  CHECK(refused.get<long long>("count") == -2);
  CHECK_THROWS_MATCHES(runValidators("hello", helloSpecs(), refused), cppd::UsageError,
                       Catch::Message("hello: option --count: count must be >= 0, got -2"));
  CHECK_NOTHROW(runValidators("hello", helloSpecs(), parsedFromNote({"--root", "x", "--count=3"})));

  // A default the plugin's own check refuses is the plugin's fault, as when parsing with the validators.
  auto strict = helloSpecs();
  strict[1].validator = [](const std::string& value) {
    if (value == "1") throw std::invalid_argument("one is not allowed");
  };
  try {
    runValidators("hello", strict, parsedFromNote({"--root", "x"}));
    FAIL("the refused default passed");
  } catch (const cppd::UsageError&) {
    FAIL("a refused default was reported as the user's mistake");
  } catch (const cppd::Error& e) {
    CHECK(e.kind() == cppd::ErrorKind::software);
    CHECK(std::string(e.what()) == "plugin hello: default of option --count is invalid: hello: option --count: one is "
                                   "not allowed");
  }
  // An option without a value (no default, not given) is not checked.
  auto listen = helloSpecs();
  listen[10].validator = [](const std::string&) { throw std::runtime_error("called"); };
  CHECK_NOTHROW(runValidators("hello", listen, parsedFromNote({"--root", "x"})));
}

TEST_CASE("checkOptionSpecs refuses exactly the option names the parser refuses, without building a parser",
          "[plugin][options]") {
  // Every declaration of one to three options from a small alphabet that can spell clashes ("no-an" against the
  // flag "an" on by default), bad first characters and characters cxxopts or addSpecs refuse: the quick check
  // in checkOptionSpecs and the parser (parsePluginOptions with --help) must agree on each.
  const std::vector<std::string> longNames{"an", "na", "no-an", "_a", "a_", "a-", "a.", "a?", "a b", "-a", "9a"};
  const std::vector<std::string> shortNames{"", "a", "n", "?", "-", "an", "\xc3\xa9"};
  const auto agree = [](const std::vector<OptionSpec>& specs) {
    bool quick = true, parser = true;
    try {
      cppd::runner::checkOptionSpecs("t", specs);
    } catch (const cppd::Error&) {
      quick = false;
    }
    try {
      parser = parsePluginOptions("t", specs, {"--help"}, "/").help;
    } catch (const std::exception&) {
      parser = false;
    }
    return quick == parser;
  };
  std::size_t tried = 0, disagreements = 0;
  std::vector<OptionSpec> all;
  for (const auto& longName : longNames) {
    for (const auto& shortName : shortNames) {
      for (bool onByDefault : {false, true}) {
        all.push_back({.longName = longName, .shortName = shortName, .help = "h",
                       .defaultValue = onByDefault ? "true" : "", .kind = OptionKind::flag});
      }
    }
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = i; j < all.size(); j += 7) {
      for (std::vector<OptionSpec> specs : {std::vector<OptionSpec>{all[i]}, std::vector<OptionSpec>{all[i], all[j]},
                                            std::vector<OptionSpec>{all[i], all[j], all[(i * 31 + j) % all.size()]}}) {
        ++tried;
        if (!agree(specs)) {
          ++disagreements;
          std::string names;
          for (const auto& spec : specs) {
            names += " --" + spec.longName + "/-" + spec.shortName + "=" + spec.defaultValue;
          }
          UNSCOPED_INFO("disagree on" << names);
        }
      }
    }
  }
  CHECK(tried > 1000);
  CHECK(disagreements == 0);
}

TEST_CASE("A validator that fails with a standard exception refuses the value; one that throws a non-exception is "
          "the plugin's fault", "[plugin][options]") {
  auto specs = helloSpecs();
  specs[1].validator = [](const std::string&) { throw std::invalid_argument("stoll"); };
  CHECK_THROWS_MATCHES(parsePluginOptions("hello", specs, {"--root", "x", "--count=5"}, "/launch"), cppd::UsageError,
                       Catch::Message("hello: option --count: stoll"));
  specs[1].validator = [](const std::string&) { throw 42; };
  const auto pluginsFault = Catch::Predicate<cppd::Error>(
      [](const cppd::Error& e) {
        return e.kind() == cppd::ErrorKind::software &&
               std::string(e.what()) ==
                   "plugin hello: option --count: its check threw an exception not derived from std::exception";
      },
      "a software error naming the plugin, the option and what went wrong");
  CHECK_THROWS_MATCHES(parsePluginOptions("hello", specs, {"--root", "x", "--count=5"}, "/launch"), cppd::Error,
                       pluginsFault);
}
