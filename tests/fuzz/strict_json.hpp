#pragma once

// A strict JSON reader (RFC 8259) for checking log lines, written apart from the writer (sdk/src/json_log_line.cpp)
// so that a mistake in one is not repeated in the other: raw bytes must be well-formed UTF-8 (decoded to code
// points and range-checked, not table-matched), no raw control character, no lone surrogate escape, numbers in
// the RFC's grammar, nothing after the value. Only what the log lines use is kept: one flat object.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cppd::fuzz {

struct JsonValue {
  enum class Kind { string, number, boolean, null } kind = Kind::null;
  std::string text;  // the decoded string (UTF-8), the number as written, "true"/"false"
};

using JsonMembers = std::vector<std::pair<std::string, JsonValue>>;

class StrictJson {
 public:
  explicit StrictJson(std::string_view input) : in_(input) {}

  /// The members of the one flat object input holds, in order; nullopt (with error() saying why) otherwise.
  std::optional<JsonMembers> object() {
    JsonMembers members;
    if (!take('{')) return fail("no '{'");
    if (take('}')) return end(std::move(members));
    do {
      auto key = string();
      if (!key) return std::nullopt;
      if (!take(':')) return fail("no ':'");
      auto value = scalar();
      if (!value) return std::nullopt;
      members.emplace_back(std::move(*key), std::move(*value));
    } while (take(','));
    if (!take('}')) return fail("no '}'");
    return end(std::move(members));
  }

  const std::string& error() const { return error_; }

  /// One code point from raw UTF-8 at text[at], advancing at; -1 when the bytes are not well-formed.
  static long decodeUtf8(std::string_view text, std::size_t& at) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(at);
    std::size_t length = lead < 0x80 ? 1 : (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3
                       : (lead & 0xf8) == 0xf0 ? 4 : 0;
    if (length == 0 || at + length > text.size()) return -1;
    long cp = length == 1 ? lead : length == 2 ? (lead & 0x1f) : length == 3 ? (lead & 0x0f) : (lead & 0x07);
    for (std::size_t k = 1; k < length; ++k) {
      if ((byte(at + k) & 0xc0) != 0x80) return -1;
      cp = (cp << 6) | (byte(at + k) & 0x3f);
    }
    const long minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < minimum[length] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
    at += length;
    return cp;
  }

  static void appendUtf8(long cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

 private:
  std::optional<JsonMembers> end(JsonMembers members) {
    if (at_ != in_.size()) return fail("bytes after the object");
    return members;
  }

  std::nullopt_t fail(const std::string& why) {
    error_ = why + " at byte " + std::to_string(at_);
    return std::nullopt;
  }

  bool take(char c) {
    if (at_ < in_.size() && in_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }

  std::optional<JsonValue> scalar() {
    JsonValue value;
    if (at_ < in_.size() && in_[at_] == '"') {
      auto text = string();
      if (!text) return std::nullopt;
      value.kind = JsonValue::Kind::string;
      value.text = std::move(*text);
      return value;
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (in_.substr(at_, word.size()) == word) {
        at_ += word.size();
        value.kind = word == "null" ? JsonValue::Kind::null : JsonValue::Kind::boolean;
        value.text = word;
        return value;
      }
    }
    return number();
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  std::optional<JsonValue> number() {
    const std::size_t start = at_;
    const auto digits = [&] {
      std::size_t n = 0;
      while (at_ < in_.size() && in_[at_] >= '0' && in_[at_] <= '9') ++at_, ++n;
      return n;
    };
    take('-');
    if (take('0')) {
    } else if (digits() == 0) {
      return fail("not a value");
    }
    if (take('.') && digits() == 0) return fail("no digit after '.'");
    if (take('e') || take('E')) {
      if (!take('+')) take('-');
      if (digits() == 0) return fail("no exponent digit");
    }
    return JsonValue{JsonValue::Kind::number, std::string(in_.substr(start, at_ - start))};
  }

  std::optional<unsigned> hex4() {
    if (at_ + 4 > in_.size()) return std::nullopt;
    unsigned value = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in_[at_++];
      value <<= 4;
      if (c >= '0' && c <= '9') value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') value |= static_cast<unsigned>(c - 'A' + 10);
      else return std::nullopt;
    }
    return value;
  }

  std::optional<std::string> string() {
    if (!take('"')) return fail("no string");
    std::string out;
    while (true) {
      if (at_ >= in_.size()) return fail("unterminated string");
      const auto c = static_cast<unsigned char>(in_[at_]);
      if (c == '"') {
        ++at_;
        return out;
      }
      if (c < 0x20) return fail("raw control byte in a string");
      if (c != '\\') {
        const long cp = decodeUtf8(in_, at_);
        if (cp < 0) return fail("malformed UTF-8 in a string");
        appendUtf8(cp, out);
        continue;
      }
      ++at_;
      if (at_ >= in_.size()) return fail("unterminated escape");
      const char kind = in_[at_++];
      const std::string_view simple = "\"\\/bfnrt";
      const std::string_view meaning = "\"\\/\b\f\n\r\t";
      if (const auto k = simple.find(kind); k != std::string_view::npos) {
        out += meaning[k];
        continue;
      }
      if (kind != 'u') return fail("unknown escape");
      auto unit = hex4();
      if (!unit) return fail("bad \\u escape");
      long cp = static_cast<long>(*unit);
      if (cp >= 0xdc00 && cp <= 0xdfff) return fail("lone low surrogate");
      if (cp >= 0xd800 && cp <= 0xdbff) {
        if (!take('\\') || !take('u')) return fail("lone high surrogate");
        auto low = hex4();
        if (!low || *low < 0xdc00 || *low > 0xdfff) return fail("high surrogate without a low one");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (static_cast<long>(*low) - 0xdc00);
      }
      appendUtf8(cp, out);
    }
  }

  std::string_view in_;
  std::size_t at_ = 0;
  std::string error_;
};

}  // namespace cppd::fuzz
