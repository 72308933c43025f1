#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include <cppd/endpoint.hpp>
#include <cppd/error.hpp>

#include "deployment/deployment_file.hpp"

using cppd::runner::serviceOptions;
using cppd::runner::readDeploymentFile;

namespace {

struct TempFile {
  std::filesystem::path dir;
  std::string path;
  explicit TempFile(const std::string& text) {
    char tmpl[] = "/tmp/cppd-deploy-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    path = (dir / "deploy.toml").string();
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove_all(dir); }
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
  CHECK(parsed.runnerArgs == std::vector<std::string>{"--pidfile=/tmp/x.pid", "--nodaemon", "--logfile-max-size=2000"});
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
  CHECK(message.rfind(":3: [cppd] key 'bogus': ", 0) == 0);
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
