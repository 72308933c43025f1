#pragma once

// A JSON value and a strict parser (RFC 8259) for the control protocol. No JSON library is in the stack, and the
// protocol only needs small documents, so this is the whole of it: cppd parses requests with it and cppdctl
// parses replies. Strict means: one value, nothing but whitespace after it, strings valid UTF-8 with no raw
// control characters and no lone surrogate escapes, no duplicate member names, bounded nesting.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cppd::runner {

class JsonValue;
using JsonArray = std::vector<JsonValue>;
/// Members in document order (replies are shown in the order the daemon wrote them).
using JsonObject = std::vector<std::pair<std::string, JsonValue>>;

class JsonValue {
 public:
  struct Null {};
  /// A number keeps its text: integers beyond a double's precision (a byte count) stay exact.
  struct Number {
    std::string text;
  };

  JsonValue() = default;
  explicit JsonValue(bool b) : value_(b) {}
  explicit JsonValue(Number n) : value_(std::move(n)) {}
  explicit JsonValue(std::string s) : value_(std::move(s)) {}
  explicit JsonValue(JsonArray a) : value_(std::make_shared<JsonArray>(std::move(a))) {}
  explicit JsonValue(JsonObject o) : value_(std::make_shared<JsonObject>(std::move(o))) {}

  bool isNull() const noexcept { return std::holds_alternative<Null>(value_); }
  const bool* boolean() const noexcept { return std::get_if<bool>(&value_); }
  const Number* number() const noexcept { return std::get_if<Number>(&value_); }
  const std::string* string() const noexcept { return std::get_if<std::string>(&value_); }
  const JsonArray* array() const noexcept;
  const JsonObject* object() const noexcept;

  /// The member named name of an object, or nullptr (also when this is not an object).
  const JsonValue* member(std::string_view name) const noexcept;

 private:
  std::variant<Null, bool, Number, std::string, std::shared_ptr<JsonArray>, std::shared_ptr<JsonObject>> value_;
};

/// The parse of text, or why it is not JSON ("at byte 12: a string has a raw control character").
struct JsonParse {
  std::optional<JsonValue> value;
  std::string error;
};

/// Parses text strictly (see above). Never throws for bad input; nesting deeper than maxDepth is an error.
JsonParse parseJson(std::string_view text, int maxDepth = 16);

}  // namespace cppd::runner
