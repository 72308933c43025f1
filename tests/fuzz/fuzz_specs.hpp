#pragma once

// A fixed plugin declaration with one option of every OptionKind (plus a negatable flag, validators and a
// required option), shared by the plugin option and deployment file targets, and the checks every parsed
// cppd::Options must pass.

#include <cppd/endpoint.hpp>
#include <cppd/option_spec.hpp>
#include <cppd/options.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_support.hpp"

namespace cppd::fuzz {

inline const std::vector<OptionSpec>& pluginSpecs() {
  static const std::vector<OptionSpec> specs = [] {
    std::vector<OptionSpec> s;
    s.push_back({"verbose", "v", "Say more.", "", OptionKind::flag, false, {}});
    s.push_back({"anonymous", "a", "Allow anonymous users.", "true", OptionKind::flag, false, {}});
    s.push_back({"name", "n", "A name.", "world", OptionKind::string, false, {}});
    s.push_back({"count", "c", "How many.", "3", OptionKind::integer, false, {}});
    s.push_back({"port", "p", "A port.", "8000", OptionKind::port, false, {}});
    s.push_back({"listen", "l", "Where to listen.", "tcp:0:interface=127.0.0.1", OptionKind::endpoint, false, {}});
    s.push_back({"root", "r", "A directory.", "", OptionKind::path, false, {}});
    s.push_back({"umask", "", "A mask.", "022", OptionKind::octal, false, {}});
    s.push_back({"max-size", "", "A size.", "1M", OptionKind::size, false, {}});
    s.push_back({"timeout", "t", "A duration.", "2.5", OptionKind::seconds, false, {}});
    // A validator that refuses the way the SDK asks (cppd::UsageError)...
    s.push_back({"greeting", "g", "One line.", "", OptionKind::string, false, [](const std::string& value) {
                   if (value.find('\n') != std::string::npos) throw UsageError("a greeting is one line");
                 }});
    // ...and one written carelessly, throwing std::invalid_argument or std::out_of_range from std::stoi: the
    // runner must still turn that into a usage error.
    s.push_back({"workers", "w", "A number.", "", OptionKind::string, false,
                 [](const std::string& value) { (void)std::stoi(value); }});
    s.push_back({"key", "k", "Required.", "", OptionKind::string, true, {}});
    return s;
  }();
  return specs;
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
        (void)options.get<bool>(name);
        break;
      case OptionKind::integer:
        (void)options.get<long long>(name);
        break;
      case OptionKind::port:
        (void)options.get<std::uint16_t>(name);
        break;
      case OptionKind::seconds:
        check(options.get<double>(name) >= 0, "negative seconds for --" + name);
        break;
      case OptionKind::octal:
        check(options.get<long long>(name) >= 0, "negative octal value for --" + name);
        break;
      case OptionKind::size:
        check(!text.empty() && text.find_first_not_of("0123456789") == std::string::npos,
              "size --" + name + " is '" + text + "'");
        break;
      case OptionKind::path:
        check(!text.empty() && text.front() == '/', "path --" + name + " is not absolute: '" + text + "'");
        break;
      case OptionKind::endpoint:
        (void)Endpoint::parse(text);
        break;
      case OptionKind::string:
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
