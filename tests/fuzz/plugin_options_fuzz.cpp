// A plugin's command line: the words after the tapname, parsed against a fixed declaration with an option of
// every kind (fuzz_specs.hpp). Input: the words, separated by NUL bytes.
// Checks: parsePluginOptions refuses with cppd::UsageError only (the spec is valid, so never the "software"
// kind); accepted options pass checkParsedOptions. Every word is also run through convertOptionValue for every
// kind, with per-kind checks of the converted value (sizes must not wrap around, octal must be exact, the typed
// value must match the text).

#include <options/option_value.hpp>
#include <options/plugin_options.hpp>

#include "fuzz_specs.hpp"

namespace {

const std::string launchDir = "/launch/dir";

using cppd::OptionKind;
using cppd::fuzz::check;

void checkConversion(OptionKind kind, const std::string& word, const std::string& converted) {
  switch (kind) {
    case OptionKind::size: {
      // "NNN[kKmMgG]" -> NNN * unit, computed here without overflow.
      std::string digits = word;
      unsigned __int128 unit = 1;
      const char last = digits.empty() ? '\0' : digits.back();
      if (last == 'k' || last == 'K') unit = 1ull << 10;
      if (last == 'm' || last == 'M') unit = 1ull << 20;
      if (last == 'g' || last == 'G') unit = 1ull << 30;
      if (unit != 1) digits.pop_back();
      unsigned __int128 value = 0;
      for (char c : digits) value = value * 10 + static_cast<unsigned>(c - '0');
      value *= unit;
      std::string expected;
      do {
        expected.insert(expected.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
        value /= 10;
      } while (value != 0);
      check(converted == expected, "size '" + word + "' converted to " + converted + ", but it is " + expected +
                                       " bytes (the multiplication wrapped around)");
      break;
    }
    case OptionKind::octal:
      check(std::stoull(word, nullptr, 8) == std::stoull(converted), "octal '" + word + "' became " + converted);
      break;
    case OptionKind::port:
      check(std::stoul(converted) <= 65535, "port '" + word + "' became " + converted);
      break;
    case OptionKind::path:
      check(!converted.empty() && converted.front() == '/', "path '" + word + "' became '" + converted + "'");
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto args = cppd::fuzz::splitOnNul(data, size);

  for (const auto& word : args) {
    for (int k = 0; k <= static_cast<int>(OptionKind::count); ++k) {
      const auto kind = static_cast<OptionKind>(k);
      cppd::OptionValue converted;
      if (cppd::fuzz::refusedOrAccepted("convertOptionValue", [&] {
            converted = cppd::runner::convertOptionValue(kind, word, launchDir);
          })) {
        checkConversion(kind, word, converted.text);
        cppd::fuzz::checkTyped(converted);
      }
    }
  }

  cppd::runner::PluginCommandLine parsed;
  bool accepted = false;
  try {
    parsed = cppd::runner::parsePluginOptions("fuzzplugin", cppd::fuzz::pluginSpecs(), args, launchDir);
    accepted = true;
  } catch (const cppd::UsageError&) {
    // a refusal, as documented
  } catch (const std::exception& e) {
    cppd::fuzz::fail(std::string("parsePluginOptions threw ") + typeid(e).name() +
                     " (only cppd::UsageError is expected for a valid declaration): " + e.what());
  }
  if (accepted && !parsed.help) cppd::fuzz::checkParsedOptions(parsed.options);
  return 0;
}
