#include "deployment/deployment_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cppd/error.hpp>

#include "options/option_value.hpp"
#include "options/plugin_options.hpp"
#include "options/server_options.hpp"
#include "posix/text_file.hpp"
#include "process/privileges.hpp"

namespace cppd::runner {
namespace {

int lineOf(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

// toml++ keeps a table's keys sorted; work in the order the file has them, so errors and arguments follow it.
std::vector<std::pair<std::string, const toml::node*>> inFileOrder(const toml::table& table) {
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (const auto& [key, node] : table) entries.emplace_back(std::string(key.str()), &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& x = a.second->source().begin;
    const auto& y = b.second->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  return entries;
}

[[noreturn]] void fail(const std::string& path, int line, const std::string& message) {
  throw Error(ErrorKind::config, fmt::format("{}:{}: {}", path, line, message));
}

std::string readWhole(const std::string& path) { return readTextFile(path, "deployment file"); }

// A scalar with its TOML type. Arrays, tables and dates are refused.
DeploymentOption scalarOption(const std::string& path, const std::string& key, const toml::node& node) {
  DeploymentOption option{key, {}, lineOf(node)};
  if (auto b = node.as_boolean()) {
    option.value = b->get();
  } else if (auto s = node.as_string()) {
    option.value = s->get();
  } else if (auto i = node.as_integer()) {
    option.value = i->get();
    option.decimal = (i->flags() & (toml::value_flags::format_as_binary | toml::value_flags::format_as_octal |
                                     toml::value_flags::format_as_hexadecimal)) == toml::value_flags::none;
  } else if (auto f = node.as_floating_point()) {
    option.value = f->get();
  } else {
    std::ostringstream type;
    type << node.type();
    fail(path, option.line,
         fmt::format("key '{}': expected a string, an integer, a number or a boolean, not {}", key, type.str()));
  }
  return option;
}

// One value converted by its option's kind: strings as typed, numbers and booleans directly, but for a decimal
// integer given to an octal option (mode = 644), read as the digits it shows.
OptionValue convertDeployed(const OptionSpec& spec, const DeploymentOption& option, const std::string& launchDir) {
  if (auto on = std::get_if<bool>(&option.value)) return flagValue(*on);
  if (auto text = std::get_if<std::string>(&option.value)) return convertOptionValue(spec.kind, *text, launchDir);
  if (auto number = std::get_if<std::int64_t>(&option.value)) {
    if (spec.kind == OptionKind::octal && option.decimal) {
      return convertOptionValue(spec.kind, std::to_string(*number), launchDir);
    }
    return convertInteger(spec.kind, *number, launchDir);
  }
  return convertNumber(spec.kind, std::get<double>(option.value), launchDir);
}

// Why a value of option's TOML type cannot be given to spec: a flag takes a boolean, nothing else does.
std::optional<std::string> typeMismatch(const OptionSpec& spec, const DeploymentOption& option) {
  const bool isBool = std::holds_alternative<bool>(option.value);
  if (spec.kind == OptionKind::flag && !isBool) return "is a flag: use true or false";
  if (spec.kind != OptionKind::flag && isBool) return "takes a value, not true/false";
  return std::nullopt;
}

// One [cppd] value, typed and checked on its own; errors name its line and key.
OptionValue runnerValue(const std::string& path, const DeploymentOption& option, const std::string& launchDir,
                        AccountLookups& accounts) {
  const auto& specs = runnerOptionSpecs();
  auto spec = std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) { return s.longName == option.key; });
  const auto where = fmt::format("[cppd] key '{}'", option.key);
  if (spec == specs.end()) fail(path, option.line, where + ": cppd has no such option (see cppd --help)");
  if (isCommandLineAction(option.key)) {
    // Accepted here it would be silently ignored: a deployment file describes a server, not what to do.
    fail(path, option.line, fmt::format("{} is a command-line action, not a server setting: remove it (give --{} "
                                        "on the command line instead)", where, option.key));
  }
  if (auto why = typeMismatch(*spec, option)) fail(path, option.line, fmt::format("{} {}", where, *why));
  OptionValue value;
  try {
    value = convertDeployed(*spec, option, launchDir);
  } catch (const UsageError& e) {
    fail(path, option.line, fmt::format("{}: option --{}: {}", where, option.key, e.what()));
  }
  try {
    checkServerOption(option.key, value);  // its bounds, empty paths
    // The user or group it names, looked up here to name the line, and only here: the run uses what was found.
    if (option.key == "uid") {
      accounts.user = resolveUser(value.text);
      accounts.uidName = value.text;
    } else if (option.key == "gid") {
      accounts.group = resolveGroup(value.text);
      accounts.gidName = value.text;
    }
  } catch (const Error& e) {
    fail(path, option.line, fmt::format("{}: {}", where, e.what()));
  }
  return value;
}

DeployedService readService(const std::string& path, const toml::table& table, int index) {
  DeployedService service;
  service.line = lineOf(table);
  for (const auto& [name, node] : inFileOrder(table)) {
    if (name == "plugin" || name == "name") {
      auto text = node->as_string();
      if (!text || text->get().empty()) fail(path, lineOf(*node), fmt::format("key '{}' must be a non-empty string", name));
      (name == "plugin" ? service.plugin : service.name) = text->get();
      continue;
    }
    if (name == "workers") {
      auto count = node->as_integer();
      if (!count || count->get() != 1) {
        fail(path, lineOf(*node), "key 'workers': a service runs in every worker, or with workers = 1 in worker 1 "
                                  "only (for a service that must not run twice); no other value is possible");
      }
      service.firstWorkerOnly = true;
      continue;
    }
    service.options.push_back(scalarOption(path, name, *node));
  }
  if (service.plugin.empty()) {
    fail(path, service.line, fmt::format("service #{} has no 'plugin' key (e.g. plugin = \"fastpoetry\")", index));
  }
  if (service.name.empty()) service.name = service.plugin;
  return service;
}

void readServices(DeploymentFile& file, const toml::node& node) {
  auto array = node.as_array();
  if (!array || !array->is_array_of_tables()) {
    fail(file.path, lineOf(node), "'service' must be an array of tables: write each one as [[service]]");
  }
  std::map<std::string, int> seen;
  int index = 0;
  for (const auto& element : *array) {
    auto service = readService(file.path, *element.as_table(), ++index);
    auto [it, fresh] = seen.emplace(service.name, service.line);
    if (!fresh) {
      fail(file.path, service.line,
           fmt::format("duplicate service name '{}' (first at line {}); give each service its own name = \"...\"",
                       service.name, it->second));
    }
    file.services.push_back(std::move(service));
  }
}

}  // namespace

DeploymentFile readDeploymentFile(const std::string& path) {
  DeploymentFile file;
  file.path = std::filesystem::absolute(path).lexically_normal().string();
  auto text = readWhole(file.path);
  toml::table root;
  try {
    root = toml::parse(text, file.path);
  } catch (const toml::parse_error& e) {
    fail(file.path, static_cast<int>(e.source().begin.line),
         fmt::format("{} (column {})", e.description(), e.source().begin.column));
  }
  for (const auto& [key, node] : inFileOrder(root)) {
    if (key == "cppd") {
      auto table = node->as_table();
      if (!table) fail(file.path, lineOf(*node), "'cppd' must be a table: write it as [cppd]");
      for (const auto& [name, entry] : inFileOrder(*table)) {
        file.runner.push_back(scalarOption(file.path, name, *entry));
      }
    } else if (key == "service") {
      readServices(file, *node);
    } else {
      fail(file.path, lineOf(*node), fmt::format("unknown key '{}' (expected [cppd] and [[service]] tables)", key));
    }
  }
  if (file.services.empty()) fail(file.path, 1, "no [[service]] table: nothing to run");
  return file;
}

std::map<std::string, OptionValue> runnerOptions(const DeploymentFile& file, const std::string& launchDir,
                                                 AccountLookups* accounts) {
  AccountLookups found;
  std::map<std::string, OptionValue> values;
  for (const auto& option : file.runner) values[option.key] = runnerValue(file.path, option, launchDir, found);
  if (accounts) *accounts = std::move(found);
  return values;
}

Options serviceOptions(const DeploymentFile& file, const DeployedService& service, const std::string& tapname,
                       const std::vector<OptionSpec>& specs, const std::string& launchDir) {
  std::map<std::string, OptionValue> given;
  for (const auto& option : service.options) {
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) { return s.longName == option.key; });
    auto where = fmt::format("service '{}': ", service.name);
    if (spec == specs.end()) {
      fail(file.path, option.line, fmt::format("{}plugin '{}' has no option '{}' (see cppd {} --help)", where,
                                               service.plugin, option.key, service.plugin));
    }
    if (auto why = typeMismatch(*spec, option)) {
      fail(file.path, option.line, fmt::format("{}option '{}' {}", where, option.key, *why));
    }
    try {
      given[option.key] = convertDeployed(*spec, option, launchDir);
    } catch (const UsageError& e) {
      throw Error(ErrorKind::config, describeServiceError(file, service, fmt::format("{}: option --{}: {}", tapname,
                                                                                    option.key, e.what())));
    }
  }
  try {
    return completeOptions(tapname, specs, std::move(given), launchDir);
  } catch (const UsageError& e) {
    throw Error(ErrorKind::config, describeServiceError(file, service, e.what()));
  }
}

std::string describeServiceError(const DeploymentFile& file, const DeployedService& service,
                                 const std::string& message) {
  return fmt::format("{}:{}: service '{}': {}", file.path, service.line, service.name, message);
}

}  // namespace cppd::runner
