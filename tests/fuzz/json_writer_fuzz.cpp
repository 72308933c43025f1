// The control socket's JSON writer: whatever bytes a reply carries (a path, a service name, a plugin's
// description), the line it writes must be one valid JSON document.
// Input: bytes, split on NUL into strings written as an object's member names and values and as an array.
// Checks: the output parses strictly (valid UTF-8, no raw control bytes, no newline); a string that was valid
// UTF-8 reads back unchanged.

#include <control/json_value.hpp>
#include <control/json_writer.hpp>

#include "fuzz_support.hpp"

namespace {

using cppd::fuzz::check;

bool validUtf8(const std::string& text) {
  // parseJson is the reference: a quoted copy with only '"' and '\\' escaped parses iff the bytes are UTF-8
  // without control characters.
  std::string quoted = "\"";
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return false;
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return cppd::runner::parseJson(quoted).value.has_value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto words = cppd::fuzz::splitOnNul(data, size);
  cppd::runner::JsonWriter w;
  w.beginObject();
  // Names made unique by the index before a ':' ("1" + "0" and "" + "10" must not collide).
  for (std::size_t k = 0; k < words.size(); ++k) w.key(std::to_string(k) + ":" + words[k]).value(words[k]);
  w.key("all").beginArray();
  for (const auto& word : words) w.value(word);
  w.endArray().endObject();
  const std::string& out = w.str();
  check(out.find('\n') == std::string::npos, "a newline in a reply line");
  const auto parsed = cppd::runner::parseJson(out);
  check(parsed.value.has_value(), "the writer's output does not parse: " + parsed.error);
  const auto* all = parsed.value->member("all");
  check(all != nullptr && all->array() != nullptr && all->array()->size() == words.size(), "the array is wrong");
  for (std::size_t k = 0; k < words.size(); ++k) {
    const std::string* back = (*all->array())[k].string();
    check(back != nullptr, "a string did not come back as a string");
    if (validUtf8(words[k])) check(*back == words[k], "a valid UTF-8 string changed: '" + words[k] + "'");
  }
  return 0;
}
