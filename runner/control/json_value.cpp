#include "control/json_value.hpp"

#include <fmt/core.h>

namespace cppd::runner {

const JsonArray* JsonValue::array() const noexcept {
  const auto* held = std::get_if<std::shared_ptr<JsonArray>>(&value_);
  return held ? held->get() : nullptr;
}

const JsonObject* JsonValue::object() const noexcept {
  const auto* held = std::get_if<std::shared_ptr<JsonObject>>(&value_);
  return held ? held->get() : nullptr;
}

const JsonValue* JsonValue::member(std::string_view name) const noexcept {
  const JsonObject* members = object();
  if (members == nullptr) return nullptr;
  for (const auto& [key, value] : *members) {
    if (key == name) return &value;
  }
  return nullptr;
}

namespace {

// A failure unwinds the recursive descent as an exception local to this file; parseJson turns it into a value.
struct Malformed {
  std::size_t at;
  std::string why;
};

class Parser {
 public:
  Parser(std::string_view text, int maxDepth) : text_(text), maxDepth_(maxDepth) {}

  JsonValue document() {
    JsonValue value = parseValue(0);
    skipSpace();
    if (pos_ != text_.size()) fail("text after the value");
    return value;
  }

 private:
  [[noreturn]] void fail(std::string why) const { throw Malformed{pos_, std::move(why)}; }

  void skipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool take(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  JsonValue parseValue(int depth) {
    skipSpace();
    if (pos_ >= text_.size()) fail("the text ends where a value should be");
    const char c = text_[pos_];
    if (c == '{') return parseObject(depth + 1);
    if (c == '[') return parseArray(depth + 1);
    if (c == '"') return JsonValue(parseString());
    if (c == 't' || c == 'f' || c == 'n') return parseWord();
    if (c == '-' || (c >= '0' && c <= '9')) return JsonValue(parseNumber());
    fail("not a JSON value");
  }

  JsonValue parseWord() {
    for (const auto& [word, value] : {std::pair{std::string_view("true"), JsonValue(true)},
                                      std::pair{std::string_view("false"), JsonValue(false)},
                                      std::pair{std::string_view("null"), JsonValue()}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    fail("not a JSON value");
  }

  JsonValue parseObject(int depth) {
    if (depth > maxDepth_) fail(fmt::format("nested deeper than {} levels", maxDepth_));
    ++pos_;  // '{'
    JsonObject members;
    skipSpace();
    if (take('}')) return JsonValue(std::move(members));
    for (;;) {
      skipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') fail("a member name must be a string");
      std::string name = parseString();
      for (const auto& member : members) {
        if (member.first == name) fail(fmt::format("member \"{}\" appears twice", name));
      }
      skipSpace();
      if (!take(':')) fail("':' expected after a member name");
      members.emplace_back(std::move(name), parseValue(depth));
      skipSpace();
      if (take('}')) return JsonValue(std::move(members));
      if (!take(',')) fail("',' or '}' expected in an object");
    }
  }

  JsonValue parseArray(int depth) {
    if (depth > maxDepth_) fail(fmt::format("nested deeper than {} levels", maxDepth_));
    ++pos_;  // '['
    JsonArray items;
    skipSpace();
    if (take(']')) return JsonValue(std::move(items));
    for (;;) {
      items.push_back(parseValue(depth));
      skipSpace();
      if (take(']')) return JsonValue(std::move(items));
      if (!take(',')) fail("',' or ']' expected in an array");
    }
  }

  void digits(bool required) {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (required && pos_ == start) fail("a digit expected in a number");
  }

  JsonValue::Number parseNumber() {
    const std::size_t start = pos_;
    take('-');
    if (take('0')) {
      if (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') fail("a number has a leading zero");
    } else {
      digits(true);
    }
    if (take('.')) digits(true);
    if (take('e') || take('E')) {
      if (!take('+')) take('-');
      digits(true);
    }
    return JsonValue::Number{std::string(text_.substr(start, pos_ - start))};
  }

  unsigned hex4() {
    if (text_.size() - pos_ < 4) fail("a \\u escape needs four hex digits");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') value |= static_cast<unsigned>(c - 'A' + 10);
      else fail("a \\u escape needs four hex digits");
    }
    return value;
  }

  static void appendUtf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  void escape(std::string& out) {
    if (pos_ >= text_.size()) fail("the text ends inside a string");
    const char c = text_[pos_++];
    switch (c) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default: --pos_; fail("an unknown escape in a string");
    }
    unsigned cp = hex4();
    if (cp >= 0xDC00 && cp <= 0xDFFF) fail("a lone low surrogate escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (text_.substr(pos_, 2) != "\\u") fail("a high surrogate escape without its low half");
      pos_ += 2;
      const unsigned low = hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail("a high surrogate escape without its low half");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    appendUtf8(out, cp);
  }

  // One UTF-8 sequence, checked (no overlong forms, no surrogates, nothing above U+10FFFF), copied to out.
  void utf8(std::string& out) {
    const auto lead = static_cast<unsigned char>(text_[pos_]);
    int extra = 0;
    unsigned cp = 0;
    if (lead >= 0xC2 && lead <= 0xDF) extra = 1, cp = lead & 0x1Fu;
    else if (lead >= 0xE0 && lead <= 0xEF) extra = 2, cp = lead & 0x0Fu;
    else if (lead >= 0xF0 && lead <= 0xF4) extra = 3, cp = lead & 0x07u;
    else fail("a string is not valid UTF-8");
    if (text_.size() - pos_ <= static_cast<std::size_t>(extra)) fail("a string is not valid UTF-8");
    for (int i = 1; i <= extra; ++i) {
      const auto next = static_cast<unsigned char>(text_[pos_ + static_cast<std::size_t>(i)]);
      if ((next & 0xC0u) != 0x80u) fail("a string is not valid UTF-8");
      cp = (cp << 6) | (next & 0x3Fu);
    }
    const bool overlong = (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000);
    if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) fail("a string is not valid UTF-8");
    out.append(text_.substr(pos_, static_cast<std::size_t>(extra) + 1));
    pos_ += static_cast<std::size_t>(extra) + 1;
  }

  std::string parseString() {
    ++pos_;  // '"'
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) fail("the text ends inside a string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        ++pos_;
        escape(out);
      } else if (c < 0x20) {
        fail("a string has a raw control character");
      } else if (c < 0x80) {
        out += static_cast<char>(c);
        ++pos_;
      } else {
        utf8(out);
      }
    }
  }

  std::string_view text_;
  int maxDepth_;
  std::size_t pos_ = 0;
};

}  // namespace

JsonParse parseJson(std::string_view text, int maxDepth) {
  JsonParse result;
  try {
    result.value = Parser(text, maxDepth).document();
  } catch (const Malformed& e) {
    result.error = fmt::format("at byte {}: {}", e.at, e.why);
  }
  return result;
}

}  // namespace cppd::runner
