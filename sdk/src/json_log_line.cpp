// The JSON line format: escaping written for strict parsers (RFC 8259) and for people who view the raw line.
#include <cppd/json_log_line.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "detail/log_tag.hpp"
#include "detail/plain_ascii_run.hpp"
#include "detail/utf8_sequence.hpp"

namespace cppd {
namespace {

// "YYYY-MM-DDTHH:MM:SS" and "+HH:MM" for one second, cached per thread as formatLogLine caches its prefix:
// localtime_r costs more than the rest of a line. The zone tzset() last loaded is part of the key.
struct JsonTimeCache {
  std::time_t second = -1;
  long zoneOffset = 0;
  const char* zoneName = nullptr;
  std::array<char, 48> date{};  // {"time":"YYYY-MM-DDTHH:MM:SS.
  std::size_t dateSize = 0;
  std::array<char, 24> offset{};  // +HH:MM","level":"
  std::size_t offsetSize = 0;
};

const JsonTimeCache& timeParts(std::time_t second) {
  thread_local JsonTimeCache cache;
  if (second == cache.second && ::timezone == cache.zoneOffset && ::tzname[0] == cache.zoneName &&
      cache.dateSize != 0) {
    return cache;
  }
  std::tm local{};
  localtime_r(&second, &local);
  cache.dateSize = std::strftime(cache.date.data(), cache.date.size(), "{\"time\":\"%Y-%m-%dT%H:%M:%S.", &local);
  const long east = local.tm_gmtoff;
  const long minutes = (east < 0 ? -east : east) / 60;
  cache.offsetSize = fmt::format_to_n(cache.offset.data(), cache.offset.size(), "{}{:02}:{:02}\",\"level\":\"",
                                      east < 0 ? '-' : '+', minutes / 60 % 100, minutes % 60).size;
  cache.second = second;
  cache.zoneOffset = ::timezone;
  cache.zoneName = ::tzname[0];
  return cache;
}

// A sized append: append(const char*) measures the literal with strlen on every line.
template <std::size_t N>
void appendLiteral(const char (&literal)[N], std::string& out) {
  out.append(literal, N - 1);
}

// Appends `{"time":"<RFC 3339>","level":"<level>","system":"` in two appends: the line's fixed part is most of
// what JSON costs over text per event, so it is built on the stack rather than piece by piece.
void appendHead(std::chrono::system_clock::time_point time, LogLevel level, std::string& out) {
  // Whole nanoseconds, split without converting a floored time back (that overflows near the clock's minimum).
  const auto nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  std::int64_t second = nanoseconds / 1'000'000'000;
  std::int64_t fraction = nanoseconds % 1'000'000'000;
  if (fraction < 0) {
    fraction += 1'000'000'000;
    --second;
  }
  const JsonTimeCache& parts = timeParts(static_cast<std::time_t>(second));
  std::array<char, 64> rest;  // microseconds, offset, level and the start of system
  std::size_t size = 6;
  // Two digits at a time from a table: a division per digit was a fifth of what the line's fixed part cost.
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  auto us = static_cast<unsigned>(fraction / 1000);
  for (std::size_t k = 6; k > 0; k -= 2, us /= 100) std::memcpy(rest.data() + k - 2, kPairs + 2 * (us % 100), 2);
  const auto put = [&](std::string_view piece) {
    std::memcpy(rest.data() + size, piece.data(), piece.size());
    size += piece.size();
  };
  put({parts.offset.data(), parts.offsetSize});
  put(toString(level));
  put("\",\"system\":\"");
  out.append(parts.date.data(), parts.dateSize);
  out.append(rest.data(), size);
}

// Printable ASCII other than '"' and '\': copied as is, and the common case, so it is tested first (by table:
// one load per byte rather than four comparisons keeps JSON as cheap as text per event).
constexpr std::array<bool, 256> kPlainJsonByte = [] {
  std::array<bool, 256> plain{};
  for (unsigned c = 0x20; c < 0x7f; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

bool isPlainJsonByte(unsigned char c) noexcept { return kPlainJsonByte[c]; }

constexpr char kHex[] = "0123456789abcdef";

void appendUnicodeEscape(unsigned codePoint, std::string& out) {
  const char escaped[] = {'\\', 'u', kHex[(codePoint >> 12) & 0xf], kHex[(codePoint >> 8) & 0xf],
                          kHex[(codePoint >> 4) & 0xf], kHex[codePoint & 0xf]};
  out.append(escaped, sizeof escaped);
}

// The code point of a well-formed sequence of two or three bytes (the only ones that are ever escaped).
unsigned codePointOf(std::string_view sequence) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(sequence[k])); };
  if (sequence.size() == 2) return ((byte(0) & 0x1f) << 6) | (byte(1) & 0x3f);
  return ((byte(0) & 0x0f) << 12) | ((byte(1) & 0x3f) << 6) | (byte(2) & 0x3f);
}

void appendEscapedAscii(unsigned char c, std::string& out) {
  switch (c) {
    case '"': out.append("\\\""); return;
    case '\\': out.append("\\\\"); return;
    case '\n': out.append("\\n"); return;
    case '\r': out.append("\\r"); return;
    case '\t': out.append("\\t"); return;
    default: appendUnicodeEscape(c, out); return;
  }
}

// Appends the character at the start of text (not plain ASCII); returns how many bytes it took.
std::size_t appendEscapedCharacter(std::string_view text, std::string& out) {
  const auto c = static_cast<unsigned char>(text[0]);
  if (c < 0x80) {
    appendEscapedAscii(c, out);
    return 1;
  }
  const std::size_t length = detail::wellFormedUtf8Length(text);
  if (length == 0) {
    const char escaped[] = {'\\', '\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
    out.append(escaped, sizeof escaped);
    return 1;
  }
  const std::string_view sequence = text.substr(0, length);
  if (detail::isC1Control(sequence) || detail::isBidiControl(sequence) || detail::isUnicodeLineBreak(sequence)) {
    appendUnicodeEscape(codePointOf(sequence), out);
  } else {
    out.append(sequence);
  }
  return length;
}

bool isReservedKey(std::string_view key) noexcept {
  while (!key.empty() && key.front() == '_') key.remove_prefix(1);
  return key == "time" || key == "level" || key == "system" || key == "text";
}

void appendDigits(const fmt::format_int& digits, std::string& out) { out.append(digits.data(), digits.size()); }

void appendFieldValue(const LogField& field, std::string& out) {
  switch (field.type) {
    case LogField::Type::string: appendJsonString(field.string, out); return;
    case LogField::Type::integer: appendDigits(fmt::format_int(field.integer), out); return;
    case LogField::Type::unsignedInteger: appendDigits(fmt::format_int(field.unsignedInteger), out); return;
    case LogField::Type::boolean: out.append(field.boolean ? "true" : "false"); return;
    case LogField::Type::real: break;
  }
  if (!std::isfinite(field.real)) {
    out.append("null");
    return;
  }
  std::array<char, 40> digits;
  const auto end = fmt::format_to_n(digits.data(), digits.size(), "{}", field.real).out;
  out.append(digits.data(), static_cast<std::size_t>(end - digits.data()));
}

// appendJsonString without the quotes.
void appendJsonStringBody(std::string_view text, std::string& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    i = detail::endOfPlainRun<'"', '\\'>(text, i, [](unsigned char c) { return isPlainJsonByte(c); });
    out.append(text.substr(start, i - start));
    if (i == text.size()) break;
    i += appendEscapedCharacter(text.substr(i), out);
  }
}

}  // namespace

void appendJsonString(std::string_view text, std::string& out) {
  out.push_back('"');
  appendJsonStringBody(text, out);
  out.push_back('"');
}

void formatJsonLogLine(const LogEvent& event, std::string& out) {
  appendHead(event.time, event.level, out);
  detail::appendTaggedSystem(event.system, out, &appendJsonStringBody);
  appendLiteral(R"(","text":")", out);
  appendJsonStringBody(event.text, out);
  if (event.fields.empty()) {
    appendLiteral("\"}\n", out);  // the usual event: one append closes the line
    return;
  }
  out.push_back('"');
  for (const LogField& field : event.fields) {
    out.push_back(',');
    if (isReservedKey(field.key)) {
      std::string key = "_";
      key.append(field.key);
      appendJsonString(key, out);
    } else {
      appendJsonString(field.key, out);
    }
    out.push_back(':');
    appendFieldValue(field, out);
  }
  appendLiteral("}\n", out);
}

}  // namespace cppd
