#include "options/plugin_options.hpp"

#include <fmt/format.h>

#include <cppd/error.hpp>
// cxxopts matches options with std::regex by default, and libstdc++'s regex recurses once per character: a
// 40 KB option value (a long path, or a string from a deployment file) overflowed the stack (found by fuzzing).
#define CXXOPTS_NO_REGEX
#include <cxxopts.hpp>
#include <algorithm>
#include <optional>
#include <set>

#include "detail/options_access.hpp"
#include "options/option_value.hpp"
#include "plugin/plugin_call.hpp"

namespace cppd::runner {
namespace {

// What messages start with: "hello: " for a plugin's options, nothing for the runner's own.
std::string lead(const std::string& context) { return context.empty() ? std::string() : context + ": "; }

bool allOf(const std::string& text, const char* allowed) {
  return !text.empty() && text.find_first_not_of(allowed) == std::string::npos;
}

// Extracts the option name cxxopts quotes in its messages ("Option ‘x’ does not exist").
std::string quotedName(const std::string& message) {
  auto start = message.find("\u2018");
  auto end = message.find("\u2019", start == std::string::npos ? 0 : start);
  if (start == std::string::npos || end == std::string::npos) return {};
  start += std::string("\u2018").size();
  return message.substr(start, end - start);
}

std::string dashed(const std::string& name) { return name.size() == 1 ? "-" + name : "--" + name; }

const OptionSpec* findSpec(const std::vector<OptionSpec>& specs, const std::string& name) {
  for (const auto& spec : specs) {
    if (spec.longName == name || spec.shortName == name) return &spec;
  }
  return nullptr;
}

std::string spelling(const std::vector<OptionSpec>& specs, const std::string& name) {
  const OptionSpec* spec = findSpec(specs, name);
  return spec ? "--" + spec->longName : dashed(name);
}

void addSpecs(cxxopts::Options& parser, const std::string& tapname, const std::vector<OptionSpec>& specs) {
  auto adder = parser.add_options();
  std::set<std::string> names;
  for (const auto& spec : specs) {
    if (!allOf(spec.longName, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ||
        spec.longName.front() == '-' || spec.shortName.size() > 1 || !names.insert(spec.longName).second) {
      throw Error(ErrorKind::software,
                  fmt::format("plugin {} declares an invalid or duplicate option '{}'", tapname, spec.longName));
    }
    std::string key = spec.shortName.empty() ? spec.longName : spec.shortName + "," + spec.longName;
    if (spec.kind == OptionKind::flag) {
      adder(key, spec.help, cxxopts::value<bool>());
      if (spec.defaultValue == "true") adder("no-" + spec.longName, spec.help, cxxopts::value<bool>());
    } else {
      adder(key, spec.help, cxxopts::value<std::string>());
    }
  }
  if (names.count("help") == 0) adder("help", "Display this help and exit.");
}

template <typename Spec>
[[noreturn]] void refuseSpec(const std::string& tapname, const Spec& spec, const std::string& why) {
  throw Error(ErrorKind::data, fmt::format("plugin {} declares option '{}', which {}", tapname, spec.longName, why));
}

cxxopts::ParseResult runParser(cxxopts::Options& parser, const std::string& tapname,
                               const std::vector<OptionSpec>& specs, const std::vector<std::string>& args) {
  std::vector<const char*> argv{tapname.c_str()};
  for (const auto& arg : args) argv.push_back(arg.c_str());
  try {
    return parser.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const cxxopts::exceptions::no_such_option& e) {
    throw UsageError(fmt::format("{}unknown option {}", lead(tapname), dashed(quotedName(e.what()))));
  } catch (const cxxopts::exceptions::missing_argument& e) {
    throw UsageError(fmt::format("{}option {} needs a value", lead(tapname), spelling(specs, quotedName(e.what()))));
  } catch (const cxxopts::exceptions::option_requires_argument& e) {
    throw UsageError(fmt::format("{}option {} needs a value", lead(tapname), spelling(specs, quotedName(e.what()))));
  } catch (const cxxopts::exceptions::gratuitous_argument_for_option& e) {
    throw UsageError(fmt::format("{}option {} takes no value", lead(tapname), spelling(specs, quotedName(e.what()))));
  } catch (const cxxopts::exceptions::incorrect_argument_type& e) {
    throw UsageError(
        fmt::format("{}a flag takes no value other than true or false ({})", lead(tapname), quotedName(e.what())));
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(fmt::format("{}{}", lead(tapname), e.what()));
  }
}

// The values given on the command line, converted by kind; --no-NAME clears a default-on flag.
std::map<std::string, OptionValue> givenValues(const std::vector<OptionSpec>& specs, const cxxopts::ParseResult& result,
                                               const std::string& tapname, const std::string& launchDir) {
  std::map<std::string, OptionValue> given;
  for (const auto& spec : specs) {
    if (spec.kind == OptionKind::flag) {
      const bool negated = spec.defaultValue == "true" && result.count("no-" + spec.longName) != 0;
      if (negated) given[spec.longName] = flagValue(false);
      else if (result.count(spec.longName) != 0) given[spec.longName] = flagValue(result[spec.longName].as<bool>());
      continue;
    }
    if (result.count(spec.longName) == 0) continue;
    try {
      given[spec.longName] = convertOptionValue(spec.kind, result[spec.longName].as<std::string>(), launchDir);
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("{}option --{}: {}", lead(tapname), spec.longName, e.what()));
    }
  }
  return given;
}

// A spec's default as a value; a default its own kind refuses is the plugin's fault, not the user's.
std::optional<OptionValue> defaultValue(const OptionSpec& spec, const std::string& tapname,
                                        const std::string& launchDir) {
  if (spec.kind == OptionKind::flag) return flagValue(spec.defaultValue == "true");
  if (spec.defaultValue.empty()) return std::nullopt;
  try {
    return convertOptionValue(spec.kind, spec.defaultValue, launchDir);
  } catch (const UsageError& e) {
    throw Error(ErrorKind::software,
                fmt::format("plugin {}: default of option --{} is invalid: {}", tapname, spec.longName, e.what()));
  }
}

// Runs the plugin's check of one value. It is plugin code, called through callPlugin like the rest: a UsageError
// refuses the value (the user's mistake, or the plugin's for a default), anything else is the plugin's fault.
void validateValue(const OptionSpec& spec, const std::string& text, bool isGiven, const std::string& tapname) {
  if (!spec.validator) return;
  try {
    // As twistd's coerce: a check that fails with any standard exception (std::stoi's invalid_argument, say)
    // refuses the value, the user's mistake; only what is not an exception at all is the plugin's fault.
    callPlugin("", "its check", ErrorKind::usage, [&] {
      try {
        spec.validator(text);
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {
        throw UsageError(e.what());
      }
    });
  } catch (const UsageError& e) {
    const auto refusal = fmt::format("{}option --{}: {}", lead(tapname), spec.longName, e.what());
    if (isGiven) throw UsageError(refusal);
    throw Error(ErrorKind::software,
                fmt::format("plugin {}: default of option --{} is invalid: {}", tapname, spec.longName, refusal));
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("plugin {}: option --{}: {}", tapname, spec.longName, e.what()));
  }
}

}  // namespace

Options completeOptions(const std::string& tapname, const std::vector<OptionSpec>& specs,
                        std::map<std::string, OptionValue> given, const std::string& launchDir) {
  Options options;
  for (const auto& spec : specs) {
    auto it = given.find(spec.longName);
    const bool isGiven = it != given.end();
    std::optional<OptionValue> value = isGiven ? std::move(it->second) : defaultValue(spec, tapname, launchDir);
    if (!value) {
      if (spec.required) throw UsageError(fmt::format("{}option --{} is required", lead(tapname), spec.longName));
      continue;
    }
    value->given = isGiven;
    validateValue(spec, value->text, isGiven, tapname);
    detail::OptionsAccess::set(options, spec.longName, std::move(*value));
  }
  return options;
}

void runValidators(const std::string& tapname, const std::vector<OptionSpec>& specs, const Options& options) {
  for (const auto& spec : specs) {
    if (spec.validator && options.has(spec.longName)) {
      validateValue(spec, options.text(spec.longName), options.given(spec.longName), tapname);
    }
  }
}

namespace {

// The engine under every command line: cxxopts against specs, then each value converted by its kind, defaults,
// required options and validators (completeOptions). nullopt when --help was given and specs do not declare it.
std::optional<Options> parseWords(const std::string& context, const std::vector<OptionSpec>& specs,
                                  const std::vector<std::string>& words, const std::string& launchDir,
                                  std::map<std::string, OptionValue> preset = {},
                                  std::vector<std::pair<std::string, std::string>>* every = nullptr) {
  cxxopts::Options parser(context.empty() ? "cppd" : "cppd " + context);
  try {
    addSpecs(parser, context, specs);
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(ErrorKind::software, fmt::format("plugin {} declares options cppd cannot use: {}", context, e.what()));
  }
  auto result = runParser(parser, context, specs, words);
  const bool ownHelp = findSpec(specs, "help") != nullptr;
  if (!ownHelp && result.count("help") != 0) return std::nullopt;
  if (!result.unmatched().empty()) {
    throw UsageError(fmt::format("{}unexpected argument '{}'", lead(context), result.unmatched().front()));
  }
  if (every) {
    for (const auto& argument : result.arguments()) every->emplace_back(argument.key(), argument.value());
  }
  auto given = givenValues(specs, result, context, launchDir);
  given.merge(preset);  // keeps the words' value where both give one
  return completeOptions(context, specs, std::move(given), launchDir);
}

// The names addSpecs gives cxxopts, checked by the rules cxxopts and addSpecs apply (a long name starts with a
// letter or digit and holds only those, '-' and '_'; a short name is one letter or digit; no name twice,
// --no-NAME of a flag on by default included) instead of building a parser: a listing reads hundreds of notes,
// and a cxxopts parser per note was most of its time. The fuzz target plugin_note checks that the parser
// accepts every note that passes.
template <typename Spec>
void checkOptionNames(const std::string& tapname, const std::vector<Spec>& specs) {
  const auto isAlnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  std::vector<std::string_view> names;  // sorted once: a listing checks hundreds of notes, sets cost allocations
  names.reserve(specs.size());
  for (const auto& spec : specs) {
    const bool goodName = !spec.longName.empty() && isAlnum(spec.longName.front()) &&
                          std::all_of(spec.longName.begin(), spec.longName.end(),
                                      [&](char c) { return isAlnum(c) || c == '-' || c == '_'; });
    if (!goodName) {
      throw Error(ErrorKind::data,
                  fmt::format("plugin {} declares an invalid or duplicate option '{}'", tapname, spec.longName));
    }
    if (spec.shortName.size() > 1 || (spec.shortName.size() == 1 && !isAlnum(spec.shortName.front()))) {
      refuseSpec(tapname, spec,
                 fmt::format("has the short name '{}' (expected one letter or digit)", spec.shortName));
    }
    names.push_back(spec.longName);
  }
  // A plugin declares a handful of options: comparing every pair (names of different lengths differ at the first
  // comparison) costs less than sorting them; a long list is sorted.
  const bool sorted = names.size() > 16;
  std::optional<std::string_view> twice;
  if (sorted) {
    std::sort(names.begin(), names.end());
    if (auto found = std::adjacent_find(names.begin(), names.end()); found != names.end()) twice = *found;
  } else {
    for (std::size_t i = 0; i < names.size() && !twice; ++i) {
      if (std::find(names.begin() + static_cast<std::ptrdiff_t>(i) + 1, names.end(), names[i]) != names.end()) {
        twice = names[i];
      }
    }
  }
  if (twice) {
    throw Error(ErrorKind::data,
                fmt::format("plugin {} declares an invalid or duplicate option '{}'", tapname, *twice));
  }
  for (const auto& spec : specs) {
    if (spec.kind != OptionKind::flag || spec.defaultValue != "true") continue;
    std::string negated = "no-";
    negated += spec.longName;
    const bool taken = sorted ? std::binary_search(names.begin(), names.end(), std::string_view(negated))
                              : std::find(names.begin(), names.end(), std::string_view(negated)) != names.end();
    if (taken) {
      refuseSpec(tapname, spec,
                 fmt::format("is a flag on by default, whose --no-{} another option takes", spec.longName));
    }
  }
}

}  // namespace

PluginCommandLine parsePluginOptions(const std::string& tapname, const std::vector<OptionSpec>& specs,
                                     const std::vector<std::string>& args, const std::string& launchDir) {
  PluginCommandLine parsed;
  auto options = parseWords(tapname, specs, args, launchDir);
  parsed.help = !options;
  if (options) parsed.options = std::move(*options);
  return parsed;
}

Options parseOptionWords(const std::string& context, const std::vector<OptionSpec>& specs,
                         const std::vector<std::string>& words, const std::string& launchDir,
                         std::map<std::string, OptionValue> preset,
                         std::vector<std::pair<std::string, std::string>>* every) {
  return parseWords(context, specs, words, launchDir, std::move(preset), every).value();
}

namespace {

// checkOptionSpecs for both shapes of a declaration: a loaded plugin's OptionSpecs and a note's views.
template <typename Spec>
void checkSpecs(const std::string& tapname, const std::vector<Spec>& specs) {
  std::string shortNames;  // the few seen so far: a search is cheaper than a set's allocations
  for (const auto& spec : specs) {
    if (spec.longName == "help") refuseSpec(tapname, spec, "cppd reserves for the plugin's help");
    if (spec.longName.size() < 2) refuseSpec(tapname, spec, "is one letter long: cxxopts cannot read --X");
    if (spec.shortName.size() == 1 && shortNames.find(spec.shortName.front()) != std::string::npos) {
      refuseSpec(tapname, spec, fmt::format("takes the short name -{} another option has", spec.shortName));
    }
    if (spec.shortName.size() == 1) shortNames += spec.shortName;
    if (spec.kind == OptionKind::flag) {
      if (!spec.defaultValue.empty() && spec.defaultValue != "true" && spec.defaultValue != "false") {
        refuseSpec(tapname, spec, fmt::format("is a flag with the default '{}' (expected true or false)",
                                              spec.defaultValue));
      }
    } else if (!spec.defaultValue.empty() && spec.kind != OptionKind::string && spec.kind != OptionKind::path) {
      // (Any text that is not empty is a string's or a path's default: nothing to convert to know that.)
      try {
        (void)convertOptionValue(spec.kind, std::string(spec.defaultValue), "/");
      } catch (const Error& e) {
        refuseSpec(tapname, spec, fmt::format("has a default its kind refuses: {}", e.what()));
      }
    }
  }
  checkOptionNames(tapname, specs);
}

}  // namespace

void checkOptionSpecs(const std::string& tapname, const std::vector<OptionSpec>& specs) { checkSpecs(tapname, specs); }

void checkOptionSpecs(const std::string& tapname, const std::vector<OptionSpecView>& specs) {
  checkSpecs(tapname, specs);
}

std::string pluginUsage(const std::string& tapname, const std::string& description,
                        const std::vector<OptionSpec>& specs) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& spec : specs) {
    std::string left = spec.shortName.empty() ? "      " : fmt::format("  -{}, ", spec.shortName);
    bool negatable = spec.kind == OptionKind::flag && spec.defaultValue == "true";
    left += negatable ? "--[no-]" + spec.longName : "--" + spec.longName;
    if (spec.kind != OptionKind::flag) left += "=" + valueNameFor(spec.kind);
    std::string right = spec.help;
    if (spec.required) right += " (required)";
    if (!spec.defaultValue.empty() && spec.kind != OptionKind::flag)
      right += fmt::format(" [default: {}]", spec.defaultValue);
    if (negatable) right += " [default: on]";
    rows.emplace_back(std::move(left), std::move(right));
  }
  rows.emplace_back("      --help", "Display this help and exit.");
  std::size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  std::string text = fmt::format("Usage: cppd [options] {} [plugin options]\n\n", tapname);
  if (!description.empty()) text += description + "\n\n";
  text += "Options:\n";
  for (const auto& [left, right] : rows) text += fmt::format("{:<{}}  {}\n", left, width, right);
  return text;
}

}  // namespace cppd::runner
