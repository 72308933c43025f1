#include <chrono>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include <cppd/endpoint.hpp>
#include <cppd/error.hpp>

#include "deployment/deployment_file.hpp"
#include "options/server_options.hpp"
#include "unit/support/temp_dir.hpp"

using cppd::runner::readDeploymentFile;
using cppd::runner::runnerOptions;
using cppd::runner::serviceOptions;

namespace {

struct TempFile {
  cppd::test::TempDir dir;
  std::string path;
  explicit TempFile(const std::string& text) : path(dir.write("deploy.toml", text)) {}
};

std::vector<cppd::OptionSpec> poetrySpecs() {
  using cppd::OptionKind;
  return {
      {.longName = "port", .shortName = "p", .help = "endpoint", .defaultValue = "10000", .kind = OptionKind::endpoint},
      {.longName = "poem", .help = "poem file", .kind = OptionKind::path, .required = true},
      {.longName = "listing", .help = "directory listings", .defaultValue = "true", .kind = OptionKind::flag},
      {.longName = "verbose", .help = "chatty", .kind = OptionKind::flag},
      {.longName = "timeout", .help = "a duration", .defaultValue = "1", .kind = OptionKind::seconds},
      {.longName = "limit", .help = "a size", .defaultValue = "1k", .kind = OptionKind::size},
  };
}

std::string errorOf(const std::string& text) {
  TempFile file(text);
  try {
    auto parsed = readDeploymentFile(file.path);
    (void)runnerOptions(parsed, "/launch");
    for (const auto& service : parsed.services) serviceOptions(parsed, service, "fastpoetry", poetrySpecs(), "/launch");
  } catch (const cppd::Error& e) {
    CHECK(e.kind() == cppd::ErrorKind::config);
    std::string message = e.what();
    // Messages start with the file's path; tests compare what follows it.
    REQUIRE(message.rfind(file.path + ":", 0) == 0);
    return message.substr(file.path.size());
  }
  FAIL("no error for:\n" << text);
  return {};
}

}  // namespace

TEST_CASE("A deployment file gives runner arguments and services in order", "[deployment]") {
  TempFile file(R"(
[cppd]
pidfile = "/tmp/x.pid"
nodaemon = true
logfile-max-size = 2000

[[service]]
plugin = "fastpoetry"
name = "first"
port = 10001
poem = "a.txt"

[[service]]
plugin = "fastpoetry"
name = "second"
port = "tcp:10002:interface=127.0.0.1"
poem = "b.txt"
listing = false
verbose = true
)");
  auto parsed = readDeploymentFile(file.path);
  REQUIRE(parsed.runner.size() == 3);
  CHECK(parsed.runner[1].key == "nodaemon");
  CHECK(parsed.runner[1].line == 4);
  const auto runner = runnerOptions(parsed, "/launch");
  CHECK(runner.at("pidfile").text == "/tmp/x.pid");
  CHECK(std::get<bool>(runner.at("nodaemon").typed));
  CHECK(std::get<std::uint64_t>(runner.at("logfile-max-size").typed) == 2000);
  REQUIRE(parsed.services.size() == 2);
  CHECK(parsed.services[0].name == "first");
  CHECK(parsed.services[0].line == 7);
  const auto first = serviceOptions(parsed, parsed.services[0], "fastpoetry", poetrySpecs(), "/launch");
  CHECK(first.get<cppd::Endpoint>("port") == cppd::Endpoint::tcp(10001));
  CHECK(first.get<std::string>("poem") == "/launch/a.txt");
  CHECK(first.get<bool>("listing"));
  CHECK_FALSE(first.given("listing"));
  const auto second = serviceOptions(parsed, parsed.services[1], "fastpoetry", poetrySpecs(), "/launch");
  CHECK(second.get<cppd::Endpoint>("port") == cppd::Endpoint::parse("tcp:10002:interface=127.0.0.1"));
  CHECK_FALSE(second.get<bool>("listing"));
  CHECK(second.given("listing"));
  CHECK(second.get<bool>("verbose"));
}

TEST_CASE("A deployment file's numbers reach the options as numbers, not as re-parsed text", "[deployment]") {
  TempFile file("[[service]]\nplugin = \"fastpoetry\"\npoem = \"a.txt\"\ntimeout = 2.5\nlimit = 4096\nport = 0\n");
  auto parsed = readDeploymentFile(file.path);
  const auto options = serviceOptions(parsed, parsed.services[0], "fastpoetry", poetrySpecs(), "/launch");
  CHECK(options.get<std::chrono::milliseconds>("timeout") == std::chrono::milliseconds(2500));
  CHECK(options.get<std::uint64_t>("limit") == 4096);
  CHECK(options.get<cppd::Endpoint>("port").port() == 0);
  CHECK(options.given("timeout"));
}

TEST_CASE("A deployment file's bad value and missing required option name the service", "[deployment]") {
  CHECK(errorOf("[[service]]\nplugin = \"fastpoetry\"\npoem = \"a\"\ntimeout = -1.5\n") ==
        ":1: service 'fastpoetry': fastpoetry: option --timeout: '-1.5' is not a duration in seconds (a non-negative "
        "number)");
  CHECK(errorOf("[[service]]\nplugin = \"fastpoetry\"\npoem = \"a\"\nlimit = -3\n") ==
        ":1: service 'fastpoetry': fastpoetry: option --limit: '-3' is not a size (a number of bytes, optionally "
        "with a k, M or G suffix)");
  CHECK(errorOf("[[service]]\nplugin = \"fastpoetry\"\n") ==
        ":1: service 'fastpoetry': fastpoetry: option --poem is required");
}

TEST_CASE("A service without a name is named after its plugin", "[deployment]") {
  TempFile file("[[service]]\nplugin = \"fastpoetry\"\npoem = \"a.txt\"\n");
  CHECK(readDeploymentFile(file.path).services.at(0).name == "fastpoetry");
}

TEST_CASE("Deployment file errors name the line and the key", "[deployment]") {
  CHECK(errorOf("[[service]]\nplugin = \"fastpoetry\"\nbogus = 1\n") ==
        ":3: service 'fastpoetry': plugin 'fastpoetry' has no option 'bogus' (see cppd fastpoetry --help)");
  CHECK(errorOf("[[service]]\nplugin = \"fastpoetry\"\nport = true\n") ==
        ":3: service 'fastpoetry': option 'port' takes a value, not true/false");
  CHECK(errorOf("[[service]]\nplugin = \"fastpoetry\"\nverbose = \"yes\"\n") ==
        ":3: service 'fastpoetry': option 'verbose' is a flag: use true or false");
  CHECK(errorOf("[[service]]\nplugin = \"fastpoetry\"\n[[service]]\nplugin = \"fastpoetry\"\n") ==
        ":3: duplicate service name 'fastpoetry' (first at line 1); give each service its own name = \"...\"");
  CHECK(errorOf("[[service]]\nname = \"x\"\n") == ":1: service #1 has no 'plugin' key (e.g. plugin = \"fastpoetry\")");
  CHECK(errorOf("[[service]]\nplugin = \"fastpoetry\"\npoem = [1, 2]\n") ==
        ":3: key 'poem': expected a string, an integer, a number or a boolean, not array");
  CHECK(errorOf("[servers]\nx = 1\n") == ":1: unknown key 'servers' (expected [cppd] and [[service]] tables)");
  CHECK(errorOf("# nothing\n") == ":1: no [[service]] table: nothing to run");
}

TEST_CASE("A TOML syntax error names the line and column", "[deployment]") {
  auto message = errorOf("[[service]]\nplugin = \"fastpoetry\n");
  CHECK(message.rfind(":2: ", 0) == 0);
  CHECK(message.find("column") != std::string::npos);
}

TEST_CASE("An unknown runner option in [cppd] names its line", "[deployment]") {
  auto message = errorOf("[cppd]\npidfile = \"x.pid\"\nbogus = 1\n[[service]]\nplugin = \"fastpoetry\"\n");
  CHECK(message == ":3: [cppd] key 'bogus': cppd has no such option (see cppd --help)");
  // Exact names only: a command line's unique prefix ("--pidf") is no name for a key.
  CHECK(errorOf("[cppd]\npidf = \"x.pid\"\n[[service]]\nplugin = \"fastpoetry\"\n") ==
        ":2: [cppd] key 'pidf': cppd has no such option (see cppd --help)");
}

namespace {

std::string cppdTableError(const std::string& entry) {
  return errorOf("[cppd]\n" + entry + "\n[[service]]\nplugin = \"fastpoetry\"\npoem = \"a\"\n");
}

}  // namespace

TEST_CASE("A [cppd] value of the wrong type or out of range names its line, its key and the value",
          "[deployment]") {
  const std::pair<const char*, const char*> rows[] = {
      // The wrong type.
      {"pidfile = true", "[cppd] key 'pidfile' takes a value, not true/false"},
      {"nodaemon = \"yes\"", "[cppd] key 'nodaemon' is a flag: use true or false"},
      {"umask = \"9\"",
       "[cppd] key 'umask': option --umask: '9' is not an octal number (digits 0-7, like 022 or 0644)"},
      {"logfile-keep = 2.5", "[cppd] key 'logfile-keep': option --logfile-keep: '2.5' is not a count (0 or more)"},
      {"logfile-max-size = \"12q\"", "[cppd] key 'logfile-max-size': option --logfile-max-size: '12q' is not a size "
                                     "(a number of bytes, optionally with a k, M or G suffix)"},
      {"logfile = [1]", "key 'logfile': expected a string, an integer, a number or a boolean, not array"},
      // Out of range.
      {"umask = 0o1777", "[cppd] key 'umask': option --umask: '1777' is more than 0777"},
      {"logfile-keep = -1", "[cppd] key 'logfile-keep': option --logfile-keep: '-1' is not a count (0 or more)"},
      {"logfile-keep = 1000001", "[cppd] key 'logfile-keep': option --logfile-keep: '1000001' is more than 1000000"},
      {"shutdown-timeout = 1e8",
       "[cppd] key 'shutdown-timeout': option --shutdown-timeout: '100000000' is more than 10000000 seconds"},
      {"shutdown-timeout = -0.5", "[cppd] key 'shutdown-timeout': option --shutdown-timeout: '-0.5' is not a "
                                  "duration in seconds (a non-negative number)"},
      {"chroot = \"\"", "[cppd] key 'chroot': option --chroot needs a path, not an empty value"},
  };
  for (const auto& [entry, expected] : rows) {
    DYNAMIC_SECTION(entry) { CHECK(cppdTableError(entry) == std::string(":2: ") + expected); }
  }
  CHECK(cppdTableError("uid = \"no-such-user-cppd\"").rfind(":2: [cppd] key 'uid': ", 0) == 0);
}

TEST_CASE("An octal value is 0o27, 27 or \"027\": an octal integer is its number, a decimal one its digits",
          "[deployment]") {
  for (const char* written : {"0o27", "27", "\"027\"", "0x17"}) {
    DYNAMIC_SECTION(written) {
      TempFile file(std::string("[cppd]\numask = ") + written + "\n[[service]]\nplugin = \"fastpoetry\"\n");
      CHECK(std::get<std::uint64_t>(runnerOptions(readDeploymentFile(file.path), "/").at("umask").typed) == 027);
    }
  }
  CHECK(cppdTableError("umask = 28") ==
        ":2: [cppd] key 'umask': option --umask: '28' is not an octal number (digits 0-7, like 022 or 0644)");
}

TEST_CASE("[cppd] values are checked one by one, and together only under the command line", "[deployment]") {
  // logfile = "-" is refused for a daemon, but nodaemon (in the file or on the command line) makes it valid.
  TempFile file("[cppd]\nlogfile = \"-\"\n[[service]]\nplugin = \"fastpoetry\"\n");
  const auto values = runnerOptions(readDeploymentFile(file.path), "/launch");
  CHECK(cppd::runner::parseServerOptions({"-n"}, values).effectiveLogfile() == "-");
  CHECK_THROWS_AS(cppd::runner::parseServerOptions({}, values), cppd::UsageError);
}

TEST_CASE("Every runner setting declared in the spec list is accepted in [cppd]", "[deployment]") {
  // A sample a kind takes, written as TOML; "0" suits every string option (uid 0, gid 0, a file named 0).
  const auto sample = [](cppd::OptionKind kind) -> std::string {
    switch (kind) {
      case cppd::OptionKind::flag: return "true";
      case cppd::OptionKind::string: return "\"0\"";
      case cppd::OptionKind::path: return "\"p\"";
      case cppd::OptionKind::endpoint: return "\"tcp:0\"";
      default: return "3";
    }
  };
  // Options whose value must be more than its kind's sample, and those that need another option with them.
  const std::map<std::string, std::string> special{{"workers", "\"2\""}, {"log-format", "\"json\""}};
  const std::map<std::string, std::string> with{
      {"reuseport", "workers = 2\n"}, {"max-requests", "workers = 2\n"}, {"max-requests-jitter", "workers = 2\n"}};
  for (const auto& spec : cppd::runner::runnerOptionSpecs()) {
    if (cppd::runner::isCommandLineAction(spec.longName)) continue;
    DYNAMIC_SECTION(spec.longName) {
      const auto given = special.count(spec.longName) ? special.at(spec.longName) : sample(spec.kind);
      const auto also = with.count(spec.longName) ? with.at(spec.longName) : std::string();
      TempFile file("[cppd]\n" + also + spec.longName + " = " + given + "\n[[service]]\nplugin = \"x\"\n");
      const auto values = runnerOptions(readDeploymentFile(file.path), "/launch");
      REQUIRE(values.count(spec.longName) == 1);
      CHECK(values.at(spec.longName).kind == spec.kind);
      CHECK_NOTHROW(cppd::runner::parseServerOptions({"-n"}, values));
    }
  }
}

TEST_CASE("A missing deployment file is a no-input error naming it", "[deployment]") {
  try {
    readDeploymentFile("/nonexistent/cppd.toml");
    FAIL("no error");
  } catch (const cppd::Error& e) {
    CHECK(e.kind() == cppd::ErrorKind::noInput);
    CHECK(std::string(e.what()) == "read deployment file /nonexistent/cppd.toml: No such file or directory");
  }
}
