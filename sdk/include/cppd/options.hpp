#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

#include <cppd/endpoint.hpp>
#include <cppd/export.hpp>
#include <cppd/option_spec.hpp>

namespace cppd {

namespace detail {
struct OptionsAccess;
}

/// One option's value as the runner checked it against the option's kind: the text (paths absolute, octal and
/// size values in decimal, flags "true"/"false") and the typed value the kind converts to, converted once.
struct OptionValue {
  OptionKind kind = OptionKind::string;
  std::string text;
  /// bool for flags; std::int64_t for integers; std::uint64_t for ports, octal values, sizes and counts; double
  /// (seconds) for durations; Endpoint for endpoints; nothing for strings and paths (the text is the value).
  std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, Endpoint> typed;
  bool given = false;  // from the command line or a deployment file, not a default
};

/// The parsed values of a set of options (a plugin's, as handed to IServiceMaker::makeService, or the runner's
/// own), each already checked and converted by its kind. Read them typed:
///
///   options.get<cppd::Endpoint>("port")                  // an endpoint option
///   options.get<std::chrono::milliseconds>("timeout")    // a seconds option
///   options.get<std::size_t>("max-clients")              // a count, size, port, integer or octal option
///   options.get<std::optional<std::string>>("password")  // an option without a default, perhaps unset
///
/// get<T> throws std::out_of_range for an option that has no value (neither given nor defaulted: read it as
/// std::optional), std::logic_error when T does not fit the option's kind (get<bool> of a port), and
/// cppd::UsageError naming the option and the value when the value does not fit T (get<std::uint8_t> of 300).
class CPPD_API Options {
 public:
  /// True when the option has a value (given or defaulted).
  bool has(const std::string& name) const;

  /// True when the option was given explicitly.
  bool given(const std::string& name) const;

  /// The value as text. Throws std::out_of_range when absent.
  const std::string& text(const std::string& name) const;

  /// The typed value; std::optional<T> gives nullopt for an option without a value.
  template <typename T>
  T get(const std::string& name) const {
    if constexpr (isOptional<T>::value) {
      if (!has(name)) return std::nullopt;
      return read<typename T::value_type>(name);
    } else {
      return read<T>(name);
    }
  }

  /// An endpoint option where a bare port number ("8080") listens on defaultInterface rather than on every
  /// interface (fastpoetry's --iface).
  Endpoint endpoint(const std::string& name, std::string_view defaultInterface) const;

 private:
  friend struct detail::OptionsAccess;
  /// Records a value: only the runner's option parser and deployment reader do this (detail::OptionsAccess).
  void set(const std::string& name, OptionValue value);

  template <typename T>
  struct isOptional : std::false_type {};
  template <typename T>
  struct isOptional<std::optional<T>> : std::true_type {};

  // Defined and explicitly instantiated in libcppd for the types listed below, so every plugin uses the
  // conversions compiled into the library.
  template <typename T>
  T read(const std::string& name) const;

  const OptionValue& value(const std::string& name) const;

  std::map<std::string, OptionValue> values_;
};

extern template CPPD_API std::string Options::read<std::string>(const std::string&) const;
extern template CPPD_API std::filesystem::path Options::read<std::filesystem::path>(const std::string&) const;
extern template CPPD_API bool Options::read<bool>(const std::string&) const;
extern template CPPD_API int Options::read<int>(const std::string&) const;
extern template CPPD_API long Options::read<long>(const std::string&) const;
extern template CPPD_API long long Options::read<long long>(const std::string&) const;
extern template CPPD_API unsigned short Options::read<unsigned short>(const std::string&) const;
extern template CPPD_API unsigned Options::read<unsigned>(const std::string&) const;
extern template CPPD_API unsigned long Options::read<unsigned long>(const std::string&) const;
extern template CPPD_API unsigned long long Options::read<unsigned long long>(const std::string&) const;
extern template CPPD_API double Options::read<double>(const std::string&) const;
extern template CPPD_API Endpoint Options::read<Endpoint>(const std::string&) const;
extern template CPPD_API std::chrono::milliseconds Options::read<std::chrono::milliseconds>(const std::string&) const;
extern template CPPD_API std::chrono::duration<double> Options::read<std::chrono::duration<double>>(
    const std::string&) const;

}  // namespace cppd
