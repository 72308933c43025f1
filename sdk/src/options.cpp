#include <fmt/format.h>

#include <cerrno>
#include <cppd/error.hpp>
#include <cppd/options.hpp>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace cppd {
namespace {

UsageError wrongType(const std::string& name, const std::string& value, const char* expected) {
  return UsageError(fmt::format("option --{}: '{}' is not {}", name, value, expected));
}

// Parses the whole of text as a base-10 signed integer; false on junk, trailing text or overflow.
bool parseLongLong(const std::string& text, long long& out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && end == text.c_str() + text.size();
}

template <typename T>
T integerAs(const std::string& name, const std::string& value, const char* expected) {
  long long parsed = 0;
  if (!parseLongLong(value, parsed)) throw wrongType(name, value, expected);
  if (parsed < static_cast<long long>(std::numeric_limits<T>::min()) ||
      (parsed > 0 &&
       static_cast<unsigned long long>(parsed) > static_cast<unsigned long long>(std::numeric_limits<T>::max()))) {
    throw wrongType(name, value, expected);
  }
  return static_cast<T>(parsed);
}

double toDouble(const std::string& name, const std::string& value) {
  if (value.empty()) throw wrongType(name, value, "a number");
  errno = 0;
  char* end = nullptr;
  double parsed = std::strtod(value.c_str(), &end);
  if (errno != 0 || end != value.c_str() + value.size()) throw wrongType(name, value, "a number");
  return parsed;
}

}  // namespace

void Options::set(const std::string& name, std::string value, bool given) {
  values_[name] = std::move(value);
  given_[name] = given;
}

bool Options::has(const std::string& name) const { return values_.count(name) != 0; }

bool Options::given(const std::string& name) const {
  auto it = given_.find(name);
  return it != given_.end() && it->second;
}

const std::string& Options::text(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::out_of_range(fmt::format("option '{}' has no value", name));
  return it->second;
}

bool Options::flag(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return false;
  return it->second == "true" || it->second == "1" || it->second == "yes";
}

// One definition of the member template, explicitly instantiated below for the types options.hpp lists, so
// every plugin uses the conversions compiled into libcppd.
template <typename T>
T Options::get(const std::string& name) const {
  const std::string& value = text(name);
  if constexpr (std::is_same_v<T, std::string>) {
    return value;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (value == "true" || value == "1" || value == "yes") return true;
    if (value == "false" || value == "0" || value == "no" || value.empty()) return false;
    throw wrongType(name, value, "a boolean (true/false)");
  } else if constexpr (std::is_same_v<T, double>) {
    return toDouble(name, value);
  } else if constexpr (std::is_same_v<T, std::uint16_t>) {
    return integerAs<T>(name, value, "a port number (0-65535)");
  } else if constexpr (std::is_unsigned_v<T>) {
    return integerAs<T>(name, value, "a non-negative integer");
  } else {
    return integerAs<T>(name, value, "an integer");
  }
}

template CPPD_API std::string Options::get<std::string>(const std::string&) const;
template CPPD_API bool Options::get<bool>(const std::string&) const;
template CPPD_API int Options::get<int>(const std::string&) const;
template CPPD_API long Options::get<long>(const std::string&) const;
template CPPD_API long long Options::get<long long>(const std::string&) const;
template CPPD_API unsigned Options::get<unsigned>(const std::string&) const;
template CPPD_API std::uint16_t Options::get<std::uint16_t>(const std::string&) const;
template CPPD_API double Options::get<double>(const std::string&) const;

}  // namespace cppd
