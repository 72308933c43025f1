#include "options/option_value.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include <cppd/endpoint.hpp>
#include <cppd/error.hpp>

namespace cppd::runner {
namespace {

// A duration longer than this (about 31 years) is a typing mistake, and would overflow as nanoseconds.
constexpr double maxSeconds = 1e9;

bool allOf(const std::string& text, const char* allowed) {
  return !text.empty() && text.find_first_not_of(allowed) == std::string::npos;
}

// Digits only (no sign, no space), at most what fits in 64 bits; false otherwise.
bool unsignedDigits(const std::string& digits, int base, std::uint64_t& out) {
  if (!allOf(digits, base == 8 ? "01234567" : "0123456789")) return false;
  errno = 0;
  out = std::strtoull(digits.c_str(), nullptr, base);
  return errno != ERANGE;
}

OptionValue typed(OptionKind kind, std::string text, decltype(OptionValue::typed) value) {
  OptionValue v;
  v.kind = kind;
  v.text = std::move(text);
  v.typed = std::move(value);
  return v;
}

OptionValue integerValue(const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || *end != '\0' || text.find_first_of(" \t\n\r\v\f") != std::string::npos) {
    throw UsageError(fmt::format("'{}' is not an integer", text));
  }
  return typed(OptionKind::integer, std::to_string(parsed), std::int64_t{parsed});  // "+7" and "007" read "7"
}

OptionValue unsignedValue(OptionKind kind, std::uint64_t number, std::uint64_t max, const std::string& text,
                          const char* expected) {
  if (number > max) throw UsageError(fmt::format("'{}' is not {}", text, expected));
  return typed(kind, std::to_string(number), number);
}

OptionValue sizeValue(const std::string& value) {
  static const char* expected = "a size (a number of bytes, optionally with a k, M or G suffix)";
  std::string digits = value;
  std::uint64_t unit = 1;
  const char last = digits.empty() ? '\0' : digits.back();
  if (last == 'k' || last == 'K') unit = 1ull << 10;
  if (last == 'm' || last == 'M') unit = 1ull << 20;
  if (last == 'g' || last == 'G') unit = 1ull << 30;
  if (unit != 1) digits.pop_back();
  std::uint64_t number = 0;
  if (!unsignedDigits(digits, 10, number) || number > std::numeric_limits<std::uint64_t>::max() / unit) {
    throw UsageError(fmt::format("'{}' is not {}", value, expected));
  }
  return typed(OptionKind::size, std::to_string(number * unit), number * unit);
}

OptionValue secondsValue(const std::string& text, double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > maxSeconds) {
    throw UsageError(fmt::format("'{}' is not a duration in seconds (a non-negative number)", text));
  }
  return typed(OptionKind::seconds, text, seconds);
}

OptionValue secondsText(const std::string& text) {
  if (!allOf(text, "0123456789.")) {
    throw UsageError(fmt::format("'{}' is not a duration in seconds (a non-negative number)", text));
  }
  char* end = nullptr;
  errno = 0;
  const double seconds = std::strtod(text.c_str(), &end);
  const bool whole = errno == 0 && *end == '\0';
  return secondsValue(text, whole ? seconds : -1);
}

}  // namespace

OptionValue convertOptionValue(OptionKind kind, const std::string& text, const std::string& launchDir) {
  std::uint64_t number = 0;
  switch (kind) {
    case OptionKind::flag:
      if (text == "true" || text == "false") return flagValue(text == "true");
      throw UsageError(fmt::format("'{}' is not true or false", text));
    case OptionKind::string:
      return typed(kind, text, std::monostate{});
    case OptionKind::integer:
      return integerValue(text);
    case OptionKind::port:
      if (!unsignedDigits(text, 10, number)) number = 65536;
      return unsignedValue(kind, number, 65535, text, "a port number (0-65535)");
    case OptionKind::endpoint:
      return typed(kind, text, Endpoint::parse(text));  // throws UsageError naming the value and the problem
    case OptionKind::path:
      if (text.empty()) throw UsageError("an empty path");
      return typed(kind, (std::filesystem::path(launchDir) / text).lexically_normal().string(), std::monostate{});
    case OptionKind::octal:
      if (text.size() > 11 || !unsignedDigits(text, 8, number)) number = ~0ull;
      return unsignedValue(kind, number, 077777777777, text, "an octal number (digits 0-7, like 022 or 0644)");
    case OptionKind::size:
      return sizeValue(text);
    case OptionKind::seconds:
      return secondsText(text);
    case OptionKind::count:
      if (!unsignedDigits(text, 10, number)) number = ~0ull;
      return unsignedValue(kind, number, std::numeric_limits<std::int64_t>::max(), text, "a count (0 or more)");
  }
  throw UsageError(fmt::format("'{}': unknown option kind {}", text, static_cast<int>(kind)));
}

OptionValue convertInteger(OptionKind kind, std::int64_t number, const std::string& launchDir) {
  const std::string text = std::to_string(number);
  switch (kind) {
    case OptionKind::integer:
      return typed(kind, text, number);
    case OptionKind::seconds:
      return secondsValue(text, static_cast<double>(number));
    case OptionKind::port:
    case OptionKind::octal:  // TOML writes a mode as 0o644; 644 is the number six hundred and forty-four
    case OptionKind::size:
    case OptionKind::count:
      if (number < 0) return convertOptionValue(kind, text, launchDir);  // refused with the kind's message
      if (kind == OptionKind::octal) return convertOptionValue(kind, fmt::format("{:o}", number), launchDir);
      return unsignedValue(kind, static_cast<std::uint64_t>(number),
                           kind == OptionKind::port ? 65535 : std::numeric_limits<std::uint64_t>::max(), text,
                           "a port number (0-65535)");
    default:
      return convertOptionValue(kind, text, launchDir);
  }
}

OptionValue convertNumber(OptionKind kind, double number, const std::string& launchDir) {
  const std::string text = fmt::format("{}", number);
  if (kind == OptionKind::seconds) return secondsValue(text, number);
  return convertOptionValue(kind, text, launchDir);
}

OptionValue flagValue(bool on) { return typed(OptionKind::flag, on ? "true" : "false", on); }

}  // namespace cppd::runner
