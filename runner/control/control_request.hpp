#pragma once

// One request of the control protocol (README.md): {"command": "status"} or {"command": "workers",
// "args": ["add", "2"]}, one per line.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cppd::runner {

struct ControlRequest {
  std::string command;
  std::vector<std::string> args;
};

/// The request in line, or why it is not one ("malformed request: at byte 3: ..."; "request member 'x' is
/// unknown"). Strict: an object with a string "command" (1-64 bytes) and optionally "args", an array of at most
/// 16 strings of at most 256 bytes; nothing else. Never throws.
struct ControlRequestParse {
  std::optional<ControlRequest> request;
  std::string error;
};
ControlRequestParse parseControlRequest(std::string_view line);

}  // namespace cppd::runner
