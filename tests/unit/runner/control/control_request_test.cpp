#include "control/control_request.hpp"

#include <string>

#include <catch2/catch.hpp>

using cppd::runner::parseControlRequest;

TEST_CASE("a control request is a command with optional string args", "[control]") {
  const auto plain = parseControlRequest(R"({"command": "status"})");
  REQUIRE(plain.request);
  CHECK(plain.request->command == "status");
  CHECK(plain.request->args.empty());
  const auto withArgs = parseControlRequest(R"({"args": ["add", "2"], "command": "workers"})");
  REQUIRE(withArgs.request);
  CHECK(withArgs.request->args == std::vector<std::string>{"add", "2"});
}

TEST_CASE("a control request outside the subset is refused with the reason", "[control]") {
  using Case = std::pair<std::string, std::string>;
  for (const auto& [line, why] : {
           Case{"status", "malformed request: at byte 0"},
           Case{"[\"status\"]", "must be a JSON object"},
           Case{"{}", "needs a \"command\" member"},
           Case{R"({"command": ""})", "1 to 64 bytes"},
           Case{R"({"command": 7})", "1 to 64 bytes"},
           Case{"{\"command\": \"" + std::string(65, 'x') + "\"}", "1 to 64 bytes"},
           Case{R"({"command": "status", "verbose": true})", "member \"verbose\" is unknown"},
           Case{R"({"command": "w", "args": "add"})", "array of strings"},
           Case{R"({"command": "w", "args": [1]})", "array of strings"},
           Case{R"({"command": "w", "args": [[[["x"]]]]})", "nested deeper than 4"},
           Case{R"({"command": "w", "args": [")" + std::string(257, 'a') + "\"]}", "longer than 256 bytes"},
       }) {
    INFO(line);
    const auto parsed = parseControlRequest(line);
    CHECK_FALSE(parsed.request);
    CHECK_THAT(parsed.error, Catch::Contains(why));
  }
  std::string many = R"({"command": "w", "args": [)";
  for (int i = 0; i < 17; ++i) many += std::string(i ? "," : "") + "\"a\"";
  CHECK_THAT(parseControlRequest(many + "]}").error, Catch::Contains("more than 16 args"));
}
