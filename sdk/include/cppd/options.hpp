#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <cppd/export.hpp>

namespace cppd {

/// The parsed values of a plugin's options, as handed to IServiceMaker::makeService. Values are stored as
/// text already checked against the option's kind, so conversions here only fail for a wrong type request.
class CPPD_API Options {
 public:
  /// Records a value; given is true when it came from the command line (or a deployment file), false for a
  /// default.
  void set(const std::string& name, std::string value, bool given);

  /// True when the option has a value (given or defaulted).
  bool has(const std::string& name) const;

  /// True when the option was given explicitly.
  bool given(const std::string& name) const;

  /// The value as text. Throws std::out_of_range("option 'x' has no value") when absent.
  const std::string& text(const std::string& name) const;

  /// A flag's state: "true"/"1"/"yes" are set; absent is false.
  bool flag(const std::string& name) const;

  /// Typed access: std::string, bool, int, long, long long, unsigned, std::uint16_t (ports), double.
  /// Throws std::out_of_range when absent, cppd::UsageError when the text is not of type T.
  template <typename T>
  T get(const std::string& name) const;

  /// Typed access with a fallback when absent.
  template <typename T>
  T get(const std::string& name, T fallback) const {
    return has(name) ? get<T>(name) : fallback;
  }

  const std::map<std::string, std::string>& values() const noexcept { return values_; }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> given_;
};

extern template CPPD_API std::string Options::get<std::string>(const std::string&) const;
extern template CPPD_API bool Options::get<bool>(const std::string&) const;
extern template CPPD_API int Options::get<int>(const std::string&) const;
extern template CPPD_API long Options::get<long>(const std::string&) const;
extern template CPPD_API long long Options::get<long long>(const std::string&) const;
extern template CPPD_API unsigned Options::get<unsigned>(const std::string&) const;
extern template CPPD_API std::uint16_t Options::get<std::uint16_t>(const std::string&) const;
extern template CPPD_API double Options::get<double>(const std::string&) const;

}  // namespace cppd
