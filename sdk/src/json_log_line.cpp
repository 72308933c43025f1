// The JSON line format: escaping written for strict parsers (RFC 8259) and for people who view the raw line.
#include <cppd/json_log_line.hpp>

#include <array>
#include <cmath>
#include <cstdint>
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

// Not inlined: the thread-local cache's address is then looked up once per line rather than at each use.
// Not inlined: the thread-local cache's address is then looked up once per line rather than at each use.
[[gnu::noinline]] const JsonTimeCache& timeParts(std::time_t second) {
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

// Where a line is written before it goes into the caller's string in one append: a line of short pieces costs
// a capacity check and a call to memcpy per piece when appended piece by piece, which was most of what JSON
// cost over text. Every write is bounded by the room the caller checked for (see kLineRoom).
struct LineWriter {
  char* at;

  void append(const char* data, std::size_t size) noexcept {
    std::memcpy(at, data, size);
    at += size;
  }
  void append(std::string_view piece) noexcept { append(piece.data(), piece.size()); }
  void push_back(char c) noexcept { *at++ = c; }
  // A piece of at most N bytes held in an array of N: all N are copied (one fixed move, no call) and the
  // writer advances by the piece's size. The caller's room covers the N.
  template <std::size_t N>
  void appendPadded(const std::array<char, N>& piece, std::size_t size) noexcept {
    std::memcpy(at, piece.data(), N);
    at += size;
  }
};

// A sized append: append(const char*) measures the literal with strlen on every call.
template <typename Out, std::size_t N>
void appendLiteral(const char (&literal)[N], Out& out) {
  out.append(literal, N - 1);
}

// `","level":"` is in the cached offset; this is what follows it: the level and the start of system.
struct LevelPiece {
  std::array<char, 24> text{};
  std::size_t size = 0;
};

constexpr LevelPiece levelPiece(std::string_view level) {
  LevelPiece piece;
  constexpr std::string_view kTail = "\",\"system\":\"";
  for (char c : level) piece.text[piece.size++] = c;
  for (char c : kTail) piece.text[piece.size++] = c;
  return piece;
}

constexpr std::array<LevelPiece, 5> kLevelPieces = {levelPiece("debug"), levelPiece("info"), levelPiece("warn"),
                                                    levelPiece("error"), levelPiece("critical")};

// The room writeHead needs: the padded date, six digits, the padded offset and level pieces.
constexpr std::size_t kHeadRoom = 48 + 6 + 24 + 24;

// Writes `{"time":"<RFC 3339>","level":"<level>","system":"`.
void writeHead(std::chrono::system_clock::time_point time, LogLevel level, LineWriter& out) {
  // Whole nanoseconds, split without converting a floored time back (that overflows near the clock's minimum).
  const auto nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  std::int64_t second = nanoseconds / 1'000'000'000;
  std::int64_t fraction = nanoseconds % 1'000'000'000;
  if (fraction < 0) {
    fraction += 1'000'000'000;
    --second;
  }
  const JsonTimeCache& parts = timeParts(static_cast<std::time_t>(second));
  out.appendPadded(parts.date, parts.dateSize);
  // Two digits at a time from a table: a division per digit was a fifth of what the line's fixed part cost.
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  auto us = static_cast<unsigned>(fraction / 1000);
  for (std::size_t k = 6; k > 0; k -= 2, us /= 100) std::memcpy(out.at + k - 2, kPairs + 2 * (us % 100), 2);
  out.at += 6;
  out.appendPadded(parts.offset, parts.offsetSize);
  if (const auto index = static_cast<std::size_t>(level); index < kLevelPieces.size()) {
    out.appendPadded(kLevelPieces[index].text, kLevelPieces[index].size);
  } else {
    out.append(toString(level));  // not a level of the enum: written as toString names it
    appendLiteral("\",\"system\":\"", out);
  }
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

template <typename Out>
void appendUnicodeEscape(unsigned codePoint, Out& out) {
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

template <typename Out>
void appendEscapedAscii(unsigned char c, Out& out) {
  switch (c) {
    case '"': appendLiteral("\\\"", out); return;
    case '\\': appendLiteral("\\\\", out); return;
    case '\n': appendLiteral("\\n", out); return;
    case '\r': appendLiteral("\\r", out); return;
    case '\t': appendLiteral("\\t", out); return;
    default: appendUnicodeEscape(c, out); return;
  }
}

// Appends the character at the start of text (not plain ASCII); returns how many bytes it took. At most six
// bytes are written per byte taken (a control byte as \u00XX), which is the room LineWriter's callers allow.
template <typename Out>
std::size_t appendEscapedCharacter(std::string_view text, Out& out) {
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

// The same into a LineWriter with room for six bytes per byte of text, in one pass: each word of plain bytes
// is stored as it is tested, rather than scanned first and copied after.
void writeJsonStringBody(std::string_view text, LineWriter& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    for (std::uint64_t word; i + sizeof word <= text.size(); i += sizeof word, out.at += sizeof word) {
      std::memcpy(&word, text.data() + i, sizeof word);
      if (!detail::isPlainAsciiWord<'"', '\\'>(word)) break;
      std::memcpy(out.at, &word, sizeof word);
    }
    for (; i < text.size() && isPlainJsonByte(static_cast<unsigned char>(text[i])); ++i) *out.at++ = text[i];
    if (i == text.size()) break;
    i += appendEscapedCharacter(text.substr(i), out);
  }
}

bool isReservedKey(std::string_view key) noexcept {
  while (!key.empty() && key.front() == '_') key.remove_prefix(1);
  return key == "time" || key == "level" || key == "system" || key == "text";
}

// A JSON string's body into either destination: the one-pass writer where the room was checked.
void appendBody(std::string_view text, std::string& out) { appendJsonStringBody(text, out); }
void appendBody(std::string_view text, LineWriter& out) { writeJsonStringBody(text, out); }

template <typename Out>
void appendQuoted(std::string_view text, Out& out) {
  out.push_back('"');
  appendBody(text, out);
  out.push_back('"');
}

template <typename Out>
void appendDigits(const fmt::format_int& digits, Out& out) {
  out.append(digits.data(), digits.size());
}

// At most kNumberRoom bytes (a double's shortest form, or 20 digits and a sign).
constexpr std::size_t kNumberRoom = 40;

template <typename Out>
void appendFieldValue(const LogField& field, Out& out) {
  switch (field.type) {
    case LogField::Type::string: appendQuoted(field.string, out); return;
    case LogField::Type::integer: appendDigits(fmt::format_int(field.integer), out); return;
    case LogField::Type::unsignedInteger: appendDigits(fmt::format_int(field.unsignedInteger), out); return;
    case LogField::Type::boolean:
      if (field.boolean) appendLiteral("true", out);
      else appendLiteral("false", out);
      return;
    case LogField::Type::real: break;
  }
  if (!std::isfinite(field.real)) {
    appendLiteral("null", out);
    return;
  }
  std::array<char, kNumberRoom> digits;
  const auto end = fmt::format_to_n(digits.data(), digits.size(), "{}", field.real).out;
  out.append(digits.data(), static_cast<std::size_t>(end - digits.data()));
}

template <typename Out>
void appendFields(std::span<const LogField> fields, Out& out) {
  for (const LogField& field : fields) {
    out.push_back(',');
    out.push_back('"');
    if (isReservedKey(field.key)) out.push_back('_');  // a clash gets one more '_'
    appendBody(field.key, out);
    appendLiteral("\":", out);
    appendFieldValue(field, out);
  }
}

// A line whose every piece fits at its worst (six bytes per byte of text) is written on the stack and appended
// once; a longer one goes piece by piece into out. Most lines are short: a connection's, a request's.
constexpr std::size_t kLineRoom = 2048;
constexpr std::size_t kEndRoom = 16;  // `","text":"` and `"}\n`
constexpr std::size_t kFieldRoom = 8 + kNumberRoom;  // `,"_` `":` and a number or the quotes of a string

// Whether event's line fits in kLineRoom at its worst.
bool fitsOnStack(const LogEvent& event, std::string_view tag) noexcept {
  if (event.fields.size() > kLineRoom / kFieldRoom) return false;
  std::size_t text = event.system.size() + tag.size() + 1 + event.text.size();
  for (const LogField& field : event.fields) {
    text += field.key.size() + (field.type == LogField::Type::string ? field.string.size() : 0);
  }
  return text < kLineRoom / 6 && kHeadRoom + 6 * text + kFieldRoom * event.fields.size() + kEndRoom <= kLineRoom;
}

void appendHead(const LogEvent& event, LineWriter& out) { writeHead(event.time, event.level, out); }

void appendHead(const LogEvent& event, std::string& out) {
  std::array<char, kHeadRoom> head;
  LineWriter writer{head.data()};
  writeHead(event.time, event.level, writer);
  out.append(head.data(), static_cast<std::size_t>(writer.at - head.data()));
}

template <typename Out>
void appendLine(const LogEvent& event, std::string_view tag, Out& out) {
  appendHead(event, out);
  detail::writeTaggedSystem(event.system, tag, [&](std::string_view part) { appendBody(part, out); },
                            [&](std::string_view piece) { out.append(piece); });
  appendLiteral(R"(","text":")", out);
  appendBody(event.text, out);
  out.push_back('"');
  appendFields(event.fields, out);
  appendLiteral("}\n", out);
}

}  // namespace

void appendJsonString(std::string_view text, std::string& out) { appendQuoted(text, out); }

void formatJsonLogLine(const LogEvent& event, std::string& out) {
  const std::string_view tag = detail::logTag();
  if (!fitsOnStack(event, tag)) {
    appendLine(event, tag, out);
    return;
  }
  std::array<char, kLineRoom> line;
  LineWriter writer{line.data()};
  appendLine(event, tag, writer);
  out.append(line.data(), static_cast<std::size_t>(writer.at - line.data()));
}

}  // namespace cppd
