#pragma once

// A typed key = value pair attached to a log event (an access event's status, bytes, path), so a JSON log can
// carry it as a member of its own rather than as words inside the text.

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

namespace cppd {

/// One structured field of a log event. A view: the key and a string value must outlive the call that logs it
/// (a literal key and a local string are the usual case). The key is chosen by code, the value may hold any bytes
/// a client sent; both are escaped by every log format, and a key that names one of a line's own members
/// (time, level, system, text) is renamed with a leading '_' so it can never replace them.
struct LogField {
  enum class Type : unsigned char { string, integer, unsignedInteger, real, boolean };

  LogField(std::string_view fieldKey, std::string_view value) noexcept : key(fieldKey), string(value) {}
  LogField(std::string_view fieldKey, const char* value) noexcept : key(fieldKey), string(value) {}
  LogField(std::string_view fieldKey, const std::string& value) noexcept : key(fieldKey), string(value) {}
  LogField(std::string_view fieldKey, bool value) noexcept : key(fieldKey), type(Type::boolean), boolean(value) {}
  LogField(std::string_view fieldKey, double value) noexcept : key(fieldKey), type(Type::real), real(value) {}
  template <std::signed_integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char>)
  LogField(std::string_view fieldKey, T value) noexcept
      : key(fieldKey), type(Type::integer), integer(static_cast<std::int64_t>(value)) {}
  template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>)
  LogField(std::string_view fieldKey, T value) noexcept
      : key(fieldKey), type(Type::unsignedInteger), unsignedInteger(static_cast<std::uint64_t>(value)) {}

  std::string_view key;
  Type type = Type::string;
  std::string_view string;  // Type::string
  union {
    std::int64_t integer = 0;
    std::uint64_t unsignedInteger;
    double real;  // a NaN or an infinity is written as null in JSON, which has no such numbers
    bool boolean;
  };
};

}  // namespace cppd
