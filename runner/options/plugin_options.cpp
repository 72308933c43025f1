#include "options/plugin_options.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cppd/endpoint.hpp>
#include <cppd/error.hpp>
#include <cstdlib>
// cxxopts matches options with std::regex by default, and libstdc++'s regex recurses once per character: a
// 40 KB option value (a long path, or a string from a deployment file) overflowed the stack (found by fuzzing).
#define CXXOPTS_NO_REGEX
#include <cxxopts.hpp>
#include <filesystem>
#include <optional>
#include <set>

namespace cppd::runner {
namespace {

bool allOf(const std::string& text, const char* allowed) {
  return !text.empty() && text.find_first_not_of(allowed) == std::string::npos;
}

long long parseInteger(const std::string& value, bool& ok) {
  errno = 0;
  char* end = nullptr;
  long long parsed = std::strtoll(value.c_str(), &end, 10);
  ok = !value.empty() && errno == 0 && *end == '\0' && value.find_first_of(" \t\n\r\v\f") == std::string::npos;
  return parsed;
}

std::string convertSize(const std::string& value) {
  static const char* expected = "a size (a number of bytes, optionally with a k, M or G suffix)";
  std::string digits = value;
  unsigned long long unit = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k':
      case 'K':
        unit = 1ull << 10;
        digits.pop_back();
        break;
      case 'm':
      case 'M':
        unit = 1ull << 20;
        digits.pop_back();
        break;
      case 'g':
      case 'G':
        unit = 1ull << 30;
        digits.pop_back();
        break;
      default:
        break;
    }
  }
  if (!allOf(digits, "0123456789") || digits.size() > 15)
    throw UsageError(fmt::format("'{}' is not {}", value, expected));
  return std::to_string(std::stoull(digits) * unit);
}

std::string convertSeconds(const std::string& value) {
  char* end = nullptr;
  errno = 0;
  double seconds = value.empty() ? -1 : std::strtod(value.c_str(), &end);
  if (value.empty() || errno != 0 || *end != '\0' || !std::isfinite(seconds) || seconds < 0 ||
      !allOf(value, "0123456789.")) {
    throw UsageError(fmt::format("'{}' is not a duration in seconds (a non-negative number)", value));
  }
  return value;
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
  std::set<std::string> names{"help"};
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
  adder("help", "Display this help and exit.");
}

cxxopts::ParseResult runParser(cxxopts::Options& parser, const std::string& tapname,
                               const std::vector<OptionSpec>& specs, const std::vector<std::string>& args) {
  std::vector<const char*> argv{tapname.c_str()};
  for (const auto& arg : args) argv.push_back(arg.c_str());
  try {
    return parser.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const cxxopts::exceptions::no_such_option& e) {
    throw UsageError(fmt::format("{}: unknown option {}", tapname, dashed(quotedName(e.what()))));
  } catch (const cxxopts::exceptions::missing_argument& e) {
    throw UsageError(fmt::format("{}: option {} needs a value", tapname, spelling(specs, quotedName(e.what()))));
  } catch (const cxxopts::exceptions::option_requires_argument& e) {
    throw UsageError(fmt::format("{}: option {} needs a value", tapname, spelling(specs, quotedName(e.what()))));
  } catch (const cxxopts::exceptions::gratuitous_argument_for_option& e) {
    throw UsageError(fmt::format("{}: option {} takes no value", tapname, spelling(specs, quotedName(e.what()))));
  } catch (const cxxopts::exceptions::incorrect_argument_type& e) {
    throw UsageError(
        fmt::format("{}: a flag takes no value other than true or false ({})", tapname, quotedName(e.what())));
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(fmt::format("{}: {}", tapname, e.what()));
  }
}

// The text for one spec as typed (given, or its default), or nullopt when it has neither; a required option
// without either is a usage error. Flags always have a value ("true"/"false"; --no-NAME clears a default-on flag).
std::optional<std::string> rawValue(const OptionSpec& spec, const cxxopts::ParseResult& result, bool given,
                                    bool negated, const std::string& tapname) {
  if (spec.kind == OptionKind::flag) {
    if (negated) return "false";
    if (given) return result[spec.longName].as<bool>() ? "true" : "false";
    return spec.defaultValue.empty() ? "false" : spec.defaultValue;
  }
  if (given) return result[spec.longName].as<std::string>();
  if (!spec.defaultValue.empty()) return spec.defaultValue;
  if (spec.required) throw UsageError(fmt::format("{}: option --{} is required", tapname, spec.longName));
  return std::nullopt;
}

// Converts and validates one spec's value and stores it; a bad default is the plugin's fault, not the user's.
void storeValue(const OptionSpec& spec, const cxxopts::ParseResult& result, const std::string& tapname,
                const std::string& launchDir, Options& options) {
  const bool given = result.count(spec.longName) != 0;
  const bool negated =
      spec.kind == OptionKind::flag && spec.defaultValue == "true" && result.count("no-" + spec.longName) != 0;
  auto raw = rawValue(spec, result, given, negated, tapname);
  if (!raw) return;
  std::string value;
  try {
    value = convertOptionValue(spec.kind, *raw, launchDir);
    if (spec.validator) spec.validator(value);
  } catch (const UsageError& e) {
    if (!given && !negated) {
      throw Error(ErrorKind::software,
                  fmt::format("plugin {}: default of option --{} is invalid: {}", tapname, spec.longName, e.what()));
    }
    throw UsageError(fmt::format("{}: option --{}: {}", tapname, spec.longName, e.what()));
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("{}: option --{}: {}", tapname, spec.longName, e.what()));
  }
  options.set(spec.longName, std::move(value), given || negated);
}

}  // namespace

std::string convertOptionValue(OptionKind kind, const std::string& value, const std::string& launchDir) {
  bool ok = false;
  switch (kind) {
    case OptionKind::flag:
      if (value == "true" || value == "false") return value;
      throw UsageError(fmt::format("'{}' is not true or false", value));
    case OptionKind::string:
      return value;
    case OptionKind::integer:
      parseInteger(value, ok);
      if (!ok) throw UsageError(fmt::format("'{}' is not an integer", value));
      return value;
    case OptionKind::port: {
      long long port = parseInteger(value, ok);
      if (!ok || port < 0 || port > 65535 || !allOf(value, "0123456789")) {
        throw UsageError(fmt::format("'{}' is not a port number (0-65535)", value));
      }
      return std::to_string(port);
    }
    case OptionKind::endpoint:
      Endpoint::parse(value);  // throws UsageError naming the value and the problem
      return value;
    case OptionKind::path:
      if (value.empty()) throw UsageError("an empty path");
      return (std::filesystem::path(launchDir) / value).lexically_normal().string();
    case OptionKind::octal:
      if (!allOf(value, "01234567") || value.size() > 11) {
        throw UsageError(fmt::format("'{}' is not an octal number (digits 0-7, like 022 or 0644)", value));
      }
      return std::to_string(std::stoull(value, nullptr, 8));
    case OptionKind::size:
      return convertSize(value);
    case OptionKind::seconds:
      return convertSeconds(value);
  }
  return value;
}

PluginCommandLine parsePluginOptions(const std::string& tapname, const std::vector<OptionSpec>& specs,
                                     const std::vector<std::string>& args, const std::string& launchDir) {
  cxxopts::Options parser("cppd " + tapname);
  try {
    addSpecs(parser, tapname, specs);
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(ErrorKind::software, fmt::format("plugin {} declares options cppd cannot use: {}", tapname, e.what()));
  }
  auto result = runParser(parser, tapname, specs, args);
  PluginCommandLine parsed;
  if (result.count("help")) {
    parsed.help = true;
    return parsed;
  }
  if (!result.unmatched().empty()) {
    throw UsageError(fmt::format("{}: unexpected argument '{}'", tapname, result.unmatched().front()));
  }
  for (const auto& spec : specs) storeValue(spec, result, tapname, launchDir, parsed.options);
  return parsed;
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
