#pragma once

// A fixed plugin declaration with one option of every OptionKind (plus a negatable flag, validators and a
// required option), shared by the plugin option and deployment file targets, and the checks every parsed
// cppd::Options must pass.

#include <chrono>
#include <cppd/endpoint.hpp>
#include <cppd/option_spec.hpp>
#include <cppd/options.hpp>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "fuzz_support.hpp"

namespace cppd::fuzz {

inline const std::vector<OptionSpec>& pluginSpecs() {
  static const std::vector<OptionSpec> specs = [] {
    std::vector<OptionSpec> s{
        {.longName = "verbose", .shortName = "v", .help = "Say more.", .kind = OptionKind::flag},
        {.longName = "anonymous", .shortName = "a", .help = "Allow anonymous users.", .defaultValue = "true",
         .kind = OptionKind::flag},
        {.longName = "name", .shortName = "n", .help = "A name.", .defaultValue = "world"},
        {.longName = "count", .shortName = "c", .help = "How many.", .defaultValue = "3", .kind = OptionKind::integer},
        {.longName = "port", .shortName = "p", .help = "A port.", .defaultValue = "8000", .kind = OptionKind::port},
        {.longName = "listen", .shortName = "l", .help = "Where to listen.", .defaultValue = "tcp:0:interface=127.0.0.1",
         .kind = OptionKind::endpoint},
        {.longName = "root", .shortName = "r", .help = "A directory.", .kind = OptionKind::path},
        {.longName = "umask", .help = "A mask.", .defaultValue = "022", .kind = OptionKind::octal},
        {.longName = "max-size", .help = "A size.", .defaultValue = "1M", .kind = OptionKind::size},
        {.longName = "timeout", .shortName = "t", .help = "A duration.", .defaultValue = "2.5",
         .kind = OptionKind::seconds},
        {.longName = "files", .shortName = "f", .help = "A count.", .defaultValue = "10", .kind = OptionKind::count},
        // A validator that refuses the way the SDK asks (cppd::UsageError)...
        {.longName = "greeting", .shortName = "g", .help = "One line.",
         .validator = [](const std::string& value) {
           if (value.find('\n') != std::string::npos) throw UsageError("a greeting is one line");
         }},
        // ...and one written carelessly, throwing std::invalid_argument or std::out_of_range from std::stoi: the
        // runner must still turn that into a usage error.
        {.longName = "workers", .shortName = "w", .help = "A number.",
         .validator = [](const std::string& value) { (void)std::stoi(value); }},
        {.longName = "key", .shortName = "k", .help = "Required.", .required = true},
    };
    return s;
  }();
  return specs;
}

/// A converted value's typed part matches its text and its kind.
inline void checkTyped(const OptionValue& value) {
  const std::string& text = value.text;
  switch (value.kind) {
    case OptionKind::flag:
      check(std::get<bool>(value.typed) == (text == "true"), "flag '" + text + "' has the other typed value");
      break;
    case OptionKind::integer:
      check(std::to_string(std::get<std::int64_t>(value.typed)) == text, "integer '" + text + "' typed differently");
      break;
    case OptionKind::port:
      check(std::get<std::uint64_t>(value.typed) <= 65535, "port '" + text + "' above 65535");
      [[fallthrough]];
    case OptionKind::octal:
    case OptionKind::size:
    case OptionKind::count:
      check(std::to_string(std::get<std::uint64_t>(value.typed)) == text, "number '" + text + "' typed differently");
      break;
    case OptionKind::seconds: {
      const double seconds = std::get<double>(value.typed);
      check(seconds >= 0 && seconds <= 1e9, "seconds '" + text + "' out of range");
      break;
    }
    case OptionKind::endpoint:
      check(std::get<Endpoint>(value.typed) == Endpoint::parse(text), "endpoint '" + text + "' typed differently");
      break;
    case OptionKind::string:
    case OptionKind::path:
      check(std::holds_alternative<std::monostate>(value.typed), "text option '" + text + "' has a typed value");
      break;
  }
}

/// What options.hpp promises about parsed options: each value was checked against its kind, so the matching
/// typed accessor cannot fail, and an absent option is std::out_of_range.
inline void checkParsedOptions(const Options& options) {
  auto access = [&](const OptionSpec& spec) {
    const std::string& name = spec.longName;
    const std::string& text = options.text(name);
    switch (spec.kind) {
      case OptionKind::flag:
        check(text == "true" || text == "false", "flag --" + name + " is '" + text + "'");
        check(options.get<bool>(name) == (text == "true"), "flag --" + name + " reads the other way");
        break;
      case OptionKind::integer:
        (void)options.get<long long>(name);
        break;
      case OptionKind::port:
        (void)options.get<std::uint16_t>(name);
        (void)options.get<Endpoint>(name);
        break;
      case OptionKind::seconds:
        check(options.get<double>(name) >= 0, "negative seconds for --" + name);
        (void)options.get<std::chrono::milliseconds>(name);
        break;
      case OptionKind::octal:
      case OptionKind::size:
      case OptionKind::count:
        check(std::to_string(options.get<std::uint64_t>(name)) == text, "--" + name + " is '" + text + "'");
        break;
      case OptionKind::path:
        check(!text.empty() && text.front() == '/', "path --" + name + " is not absolute: '" + text + "'");
        break;
      case OptionKind::endpoint:
        check(options.get<Endpoint>(name) == Endpoint::parse(text), "endpoint --" + name + " reads differently");
        break;
      case OptionKind::string:
        check(options.get<std::string>(name) == text, "string --" + name + " reads differently");
        break;
    }
  };
  for (const auto& spec : pluginSpecs()) {
    if (!options.has(spec.longName)) continue;
    try {
      access(spec);
    } catch (const std::exception& e) {
      fail("option --" + spec.longName + " passed parsing with value '" + options.text(spec.longName) +
           "' but its typed access threw: " + e.what());
    }
  }
  try {
    (void)options.text("no-such-option");
    fail("Options::text of an absent option did not throw");
  } catch (const std::out_of_range&) {
    // documented
  }
}

}  // namespace cppd::fuzz
