#pragma once

// The one conversion per option kind, shared by every source of values: the runner's command line, a
// plugin's command line and a deployment file. Text is checked and converted once, here; Options::get<T> only
// reads the typed result.

#include <cstdint>
#include <string>

#include <cppd/option_spec.hpp>
#include <cppd/options.hpp>

namespace cppd::runner {

/// Converts text as typed for an option of kind. Paths become absolute against launchDir; octal and size
/// values are kept in decimal in OptionValue::text. Throws cppd::UsageError with the reason only, naming the
/// value ("'abc' is not a port number (0-65535)"); callers add the option's name.
OptionValue convertOptionValue(OptionKind kind, const std::string& text, const std::string& launchDir);

/// A deployment file's typed values, fed in without a detour through text where the kind is numeric: an integer
/// for an integer, port, octal, count, size or seconds option (an octal option takes the number itself: TOML's
/// 0o644 is the mode 0644; a decimal 644 is the caller's to read as digits), a floating-point number for a seconds
/// option. Other combinations read the number as
/// it would be typed (an endpoint's bare port 8080, a string option's "8080").
/// Same errors as convertOptionValue.
OptionValue convertInteger(OptionKind kind, std::int64_t number, const std::string& launchDir);
OptionValue convertNumber(OptionKind kind, double number, const std::string& launchDir);

/// A flag's value.
OptionValue flagValue(bool on);

}  // namespace cppd::runner
