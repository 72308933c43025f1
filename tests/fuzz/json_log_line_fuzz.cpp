// JSON log lines with arbitrary bytes in every field: whatever a client sends ends up in a system, a text or a
// field's value. Input: 8 bytes of time (nanoseconds since the epoch, any value), then NUL-separated parts:
// the system, the text, then key and value pairs; a value's first byte picks its type (string, signed, unsigned,
// double, bool) and its next 8 bytes the number.
// Checks: formatJsonLogLine appends (never rewrites what out held) exactly one line, which a strict JSON reader
// written apart from the writer (strict_json.hpp) accepts as one flat object; no raw character that changes how a
// line displays (C1, bidi, U+2028/9); the members are time, level, system, text, then one per field in order, so
// none was injected or replaced; and each holds what was logged (a byte that is not UTF-8 as "\xHH").

#include <cppd/json_log_line.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "strict_json.hpp"

namespace {

using cppd::fuzz::check;
using cppd::fuzz::StrictJson;

// What a member must decode to: the UTF-8 that is well-formed, "\xHH" for each other byte.
std::string expectedText(std::string_view bytes) {
  std::string out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    std::size_t next = at;
    const long cp = StrictJson::decodeUtf8(bytes, next);
    if (cp >= 0) {
      out.append(bytes.substr(at, next - at));
      at = next;
      continue;
    }
    char escaped[5];
    std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned char>(bytes[at]));
    out += escaped;
    ++at;
  }
  return out;
}

bool displaysDifferently(long cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0x061c || cp == 0x200e ||
         cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

std::string expectedKey(std::string_view key) {
  std::string_view bare = key;
  while (!bare.empty() && bare.front() == '_') bare.remove_prefix(1);
  const bool reserved = bare == "time" || bare == "level" || bare == "system" || bare == "text";
  return expectedText(reserved ? "_" + std::string(key) : std::string(key));
}

template <typename T>
T numberFrom(std::string_view bytes) {
  T value{};
  std::memcpy(&value, bytes.data(), std::min(sizeof value, bytes.size()));
  return value;
}

// The field a value part describes, and the JSON it must become.
cppd::LogField makeField(std::string_view key, std::string_view part, cppd::fuzz::JsonValue& expected) {
  const unsigned type = part.empty() ? 0 : static_cast<unsigned char>(part[0]) % 5;
  const std::string_view rest = part.empty() ? part : part.substr(1);
  using Kind = cppd::fuzz::JsonValue::Kind;
  switch (type) {
    case 1: {
      const auto value = numberFrom<std::int64_t>(rest);
      expected = {Kind::number, std::to_string(value)};
      return {key, value};
    }
    case 2: {
      const auto value = numberFrom<std::uint64_t>(rest);
      expected = {Kind::number, std::to_string(value)};
      return {key, value};
    }
    case 3: {
      const auto value = numberFrom<double>(rest);
      expected = std::isfinite(value) ? cppd::fuzz::JsonValue{Kind::number, ""}
                                      : cppd::fuzz::JsonValue{Kind::null, "null"};
      return {key, value};
    }
    case 4: {
      const bool value = !rest.empty() && (rest[0] & 1);
      expected = {Kind::boolean, value ? "true" : "false"};
      return {key, value};
    }
    default:
      expected = {Kind::string, expectedText(rest)};
      return {key, rest};
  }
}

void checkValue(const cppd::LogField& field, const cppd::fuzz::JsonValue& got, const cppd::fuzz::JsonValue& want) {
  check(got.kind == want.kind, "a field has the wrong JSON type");
  if (field.type == cppd::LogField::Type::real && want.kind == cppd::fuzz::JsonValue::Kind::number) {
    check(std::strtod(got.text.c_str(), nullptr) == field.real, "a double did not survive: " + got.text);
    return;
  }
  check(got.text == want.text, "a field's value changed: " + got.text + " != " + want.text);
}

// RFC 3339 with microseconds and a numeric offset: "2026-11-30T21:44:37.123456+01:00".
bool isRfc3339(std::string_view time) {
  const std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddddd+dd:dd";
  if (time.size() != shape.size()) return false;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    const bool ok = shape[k] == 'd' ? (time[k] >= '0' && time[k] <= '9')
                    : shape[k] == '+' ? (time[k] == '+' || time[k] == '-')
                                      : time[k] == shape[k];
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::int64_t nanoseconds = 0;
  if (size >= 8) {
    std::memcpy(&nanoseconds, data, 8);
    data += 8;
    size -= 8;
  }
  std::vector<std::string_view> parts;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (std::size_t nul; (nul = rest.find('\0')) != std::string_view::npos; rest.remove_prefix(nul + 1)) {
    parts.push_back(rest.substr(0, nul));
  }
  parts.push_back(rest);
  parts.resize(std::max<std::size_t>(parts.size(), 2));

  std::vector<cppd::LogField> fields;
  std::vector<cppd::fuzz::JsonValue> expected;
  for (std::size_t k = 2; k + 1 < parts.size(); k += 2) {
    expected.emplace_back();
    fields.push_back(makeField(parts[k], parts[k + 1], expected.back()));
  }
  cppd::LogEvent event;
  event.time = std::chrono::system_clock::time_point(std::chrono::nanoseconds(nanoseconds));
  event.level = static_cast<cppd::LogLevel>(size % 5);
  event.system = parts[0];
  event.text = parts[1];
  event.fields = fields;

  const std::string before = "previous line\n";
  std::string out = before;
  try {
    cppd::formatJsonLogLine(event, out);
  } catch (const std::exception& e) {
    cppd::fuzz::fail(std::string("formatJsonLogLine threw ") + typeid(e).name() + ": " + e.what());
  }
  check(out.compare(0, before.size(), before) == 0, "formatJsonLogLine changed what out already held");
  const std::string_view line = std::string_view(out).substr(before.size());
  check(!line.empty() && line.back() == '\n', "the line does not end with a newline");
  check(line.find('\n') == line.size() - 1, "the event took more than one line");
  const std::string_view object = line.substr(0, line.size() - 1);
  for (std::size_t at = 0; at < object.size();) {
    const long cp = StrictJson::decodeUtf8(object, at);
    check(cp >= 0, "the line is not UTF-8");
    check(!displaysDifferently(cp), "a raw character that changes how the line displays");
  }

  StrictJson reader(object);
  const auto members = reader.object();
  if (!members) cppd::fuzz::fail("a strict JSON reader refused the line: " + reader.error());
  check(members->size() == 4 + fields.size(), "members were added or lost");
  const char* names[] = {"time", "level", "system", "text"};
  for (std::size_t k = 0; k < 4; ++k) check((*members)[k].first == names[k], "the line's own members moved");
  for (std::size_t k = 4; k < members->size(); ++k) {
    for (const char* name : names) check((*members)[k].first != name, "a field took a line member's name");
  }
  // Years 1970..9999 print in RFC 3339's four digits; outside them the time is only required to be a string.
  if (nanoseconds >= 0 && nanoseconds / 1'000'000'000 < 253'402'214'400) {
    check(isRfc3339((*members)[0].second.text), "time is not RFC 3339: " + (*members)[0].second.text);
  }
  check((*members)[0].second.kind == cppd::fuzz::JsonValue::Kind::string, "time is not a string");
  check((*members)[1].second.text == cppd::toString(event.level), "the level changed");
  check((*members)[2].second.text == expectedText(event.system), "the system changed");
  check((*members)[3].second.text == expectedText(event.text), "the text changed");
  for (std::size_t k = 0; k < fields.size(); ++k) {
    check((*members)[4 + k].first == expectedKey(fields[k].key), "a field's key changed");
    checkValue(fields[k], (*members)[4 + k].second, expected[k]);
  }
  return 0;
}
