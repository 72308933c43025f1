// The control socket's request line (runner/control/README.md), and the strict JSON parser under it.
// Input: one request line, as a client sends it (without the newline).
// Checks: neither parser throws; an accepted request has a command of 1-64 bytes and at most 16 args of at
// most 256 bytes; written back with the JSON writer it parses to the same request (the parser and the writer
// agree); and whatever parseJson accepts is valid UTF-8 in every string (what the replies echo back).

#include <control/control_request.hpp>
#include <control/json_value.hpp>
#include <control/json_writer.hpp>

#include "fuzz_support.hpp"

namespace {

using cppd::fuzz::check;

std::string written(const cppd::runner::ControlRequest& request) {
  cppd::runner::JsonWriter w;
  w.beginObject().key("command").value(request.command).key("args").beginArray();
  for (const auto& arg : request.args) w.value(arg);
  w.endArray().endObject();
  return w.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  (void)cppd::runner::parseJson(line);
  const auto parsed = cppd::runner::parseControlRequest(line);
  if (!parsed.request) {
    check(!parsed.error.empty(), "a refused request has no reason");
    return 0;
  }
  const auto& request = *parsed.request;
  check(!request.command.empty() && request.command.size() <= 64, "command length out of bounds");
  check(request.args.size() <= 16, "too many args accepted");
  for (const auto& arg : request.args) check(arg.size() <= 256, "an arg longer than 256 bytes was accepted");
  const auto again = cppd::runner::parseControlRequest(written(request));
  check(again.request.has_value(), "a written request does not parse: " + again.error);
  check(again.request->command == request.command, "the command changed in a round trip");
  check(again.request->args == request.args, "the args changed in a round trip");
  return 0;
}
