#include <fmt/format.h>

#include <cppd/error.hpp>
#include <cppd/options.hpp>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace cppd {
namespace {

std::logic_error wrongKind(const std::string& name, OptionKind kind, const char* wanted) {
  return std::logic_error(fmt::format("option --{} is a {} option: it cannot be read as {}", name,
                                      kind == OptionKind::flag ? std::string("FLAG") : valueNameFor(kind), wanted));
}

// An integer read as T, refused with the option, the value and the range when it does not fit.
template <typename T, typename From>
T integerAs(const std::string& name, const OptionValue& value, From number) {
  using Limits = std::numeric_limits<T>;
  bool negative = false;
  if constexpr (std::is_signed_v<From>) negative = number < 0;
  const bool fits = negative ? std::is_signed_v<T> && static_cast<long long>(number) >=
                                                         static_cast<long long>(Limits::min())
                             : static_cast<unsigned long long>(number) <= static_cast<unsigned long long>(Limits::max());
  if (fits) return static_cast<T>(number);
  if constexpr (std::is_same_v<T, std::uint16_t>) {
    throw UsageError(fmt::format("option --{}: '{}' is not a port number (0-65535)", name, value.text));
  } else {
    throw UsageError(fmt::format("option --{}: '{}' is out of range ({} to {})", name, value.text, Limits::min(),
                                 Limits::max()));
  }
}

template <typename T>
T integer(const std::string& name, const OptionValue& value) {
  if (auto n = std::get_if<std::int64_t>(&value.typed)) return integerAs<T>(name, value, *n);
  if (auto n = std::get_if<std::uint64_t>(&value.typed)) return integerAs<T>(name, value, *n);
  throw wrongKind(name, value.kind, "an integer");
}

double seconds(const std::string& name, const OptionValue& value) {
  if (auto s = std::get_if<double>(&value.typed)) return *s;
  throw wrongKind(name, value.kind, "a duration");
}

}  // namespace

void Options::set(const std::string& name, OptionValue value) { values_[name] = std::move(value); }

bool Options::has(const std::string& name) const { return values_.count(name) != 0; }

bool Options::given(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && it->second.given;
}

const OptionValue& Options::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    throw std::out_of_range(fmt::format(
        "option --{} has no value (it was not given and has no default: read it as std::optional)", name));
  }
  return it->second;
}

const std::string& Options::text(const std::string& name) const { return value(name).text; }

Endpoint Options::endpoint(const std::string& name, std::string_view defaultInterface) const {
  const OptionValue& v = value(name);
  if (v.kind != OptionKind::endpoint && v.kind != OptionKind::port) throw wrongKind(name, v.kind, "an endpoint");
  return Endpoint::parse(v.text, defaultInterface);  // the text was checked when it was parsed
}

template <typename T>
T Options::read(const std::string& name) const {
  const OptionValue& v = value(name);
  if constexpr (std::is_same_v<T, std::string>) {
    return v.text;
  } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
    if (v.kind != OptionKind::path && v.kind != OptionKind::string) throw wrongKind(name, v.kind, "a path");
    return std::filesystem::path(v.text);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (auto b = std::get_if<bool>(&v.typed)) return *b;
    throw wrongKind(name, v.kind, "a flag");
  } else if constexpr (std::is_same_v<T, double>) {
    if (auto s = std::get_if<double>(&v.typed)) return *s;
    if (auto n = std::get_if<std::int64_t>(&v.typed)) return static_cast<double>(*n);
    if (auto n = std::get_if<std::uint64_t>(&v.typed)) return static_cast<double>(*n);
    throw wrongKind(name, v.kind, "a number");
  } else if constexpr (std::is_same_v<T, Endpoint>) {
    if (auto e = std::get_if<Endpoint>(&v.typed)) return *e;
    if (v.kind == OptionKind::port) return Endpoint::tcp(integer<std::uint16_t>(name, v));
    throw wrongKind(name, v.kind, "an endpoint");
  } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
    // Rounded to the nearest millisecond; the parser bounded seconds, so this cannot overflow.
    return std::chrono::milliseconds(static_cast<long long>(seconds(name, v) * 1000 + 0.5));
  } else if constexpr (std::is_same_v<T, std::chrono::duration<double>>) {
    return std::chrono::duration<double>(seconds(name, v));
  } else {
    return integer<T>(name, v);
  }
}

template CPPD_API std::string Options::read<std::string>(const std::string&) const;
template CPPD_API std::filesystem::path Options::read<std::filesystem::path>(const std::string&) const;
template CPPD_API bool Options::read<bool>(const std::string&) const;
template CPPD_API int Options::read<int>(const std::string&) const;
template CPPD_API long Options::read<long>(const std::string&) const;
template CPPD_API long long Options::read<long long>(const std::string&) const;
template CPPD_API unsigned short Options::read<unsigned short>(const std::string&) const;
template CPPD_API unsigned Options::read<unsigned>(const std::string&) const;
template CPPD_API unsigned long Options::read<unsigned long>(const std::string&) const;
template CPPD_API unsigned long long Options::read<unsigned long long>(const std::string&) const;
template CPPD_API double Options::read<double>(const std::string&) const;
template CPPD_API Endpoint Options::read<Endpoint>(const std::string&) const;
template CPPD_API std::chrono::milliseconds Options::read<std::chrono::milliseconds>(const std::string&) const;
template CPPD_API std::chrono::duration<double> Options::read<std::chrono::duration<double>>(
    const std::string&) const;

}  // namespace cppd
