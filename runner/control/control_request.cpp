#include "control/control_request.hpp"

#include <fmt/core.h>

#include "control/json_value.hpp"

namespace cppd::runner {
namespace {

constexpr std::size_t maxCommand = 64;
constexpr std::size_t maxArgs = 16;
constexpr std::size_t maxArg = 256;

ControlRequestParse refuse(std::string why) {
  ControlRequestParse result;
  result.error = std::move(why);
  return result;
}

// The "args" member's strings, or why they are refused.
std::optional<std::string> readArgs(const JsonValue& value, std::vector<std::string>& args) {
  const JsonArray* items = value.array();
  if (items == nullptr) return "request member \"args\" must be an array of strings";
  if (items->size() > maxArgs) return fmt::format("request has more than {} args", maxArgs);
  for (const auto& item : *items) {
    const std::string* text = item.string();
    if (text == nullptr) return "request member \"args\" must be an array of strings";
    if (text->size() > maxArg) return fmt::format("a request argument is longer than {} bytes", maxArg);
    args.push_back(*text);
  }
  return std::nullopt;
}

}  // namespace

ControlRequestParse parseControlRequest(std::string_view line) {
  JsonParse parsed = parseJson(line, 4);
  if (!parsed.value) return refuse("malformed request: " + parsed.error);
  const JsonObject* members = parsed.value->object();
  if (members == nullptr) return refuse("a request must be a JSON object such as {\"command\": \"status\"}");
  ControlRequest request;
  bool haveCommand = false;
  for (const auto& [name, value] : *members) {
    if (name == "command") {
      const std::string* command = value.string();
      if (command == nullptr || command->empty() || command->size() > maxCommand) {
        return refuse(fmt::format("request member \"command\" must be a string of 1 to {} bytes", maxCommand));
      }
      request.command = *command;
      haveCommand = true;
    } else if (name == "args") {
      if (auto why = readArgs(value, request.args)) return refuse(*why);
    } else {
      // Refused rather than ignored: a client that means something by it must not believe it was honoured.
      return refuse(fmt::format("request member {} is unknown (known: command, args)", name.size() > 64
                                                                                          ? "(a long name)"
                                                                                          : "\"" + name + "\""));
    }
  }
  if (!haveCommand) return refuse("a request needs a \"command\" member");
  ControlRequestParse result;
  result.request = std::move(request);
  return result;
}

}  // namespace cppd::runner
