#pragma once

// A plugin's options: the runner builds a cxxopts parser from the plugin's OptionSpecs, converts every value by
// its kind (option_value.hpp), applies defaults, required options and validators, and hands the plugin a typed
// cppd::Options. A deployment file feeds its typed values into the same completeOptions(). Plugins never see
// cxxopts. Also the plugin's --help text.

#include <cppd/option_spec.hpp>
#include <cppd/options.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "options/option_spec_view.hpp"

namespace cppd::runner {

struct PluginCommandLine {
  bool help = false;  // --help was given: show pluginUsage() and exit 0 (nothing else was checked)
  Options options;
};

/// Parses args (the words after the tapname). Throws cppd::UsageError naming the plugin, the option and the
/// value: "fastpoetry: option --port: 'abc' is not a port number (0-65535)", "hello: option --name is
/// required", "hello: unknown option --bogus", "hello: option --port needs a value", "hello: unexpected
/// argument 'x'". A spec the parser cannot accept (bad name, duplicate, a default of the wrong kind) throws
/// cppd::Error (software) naming the plugin. Relative paths are made absolute against launchDir.
PluginCommandLine parsePluginOptions(const std::string& tapname, const std::vector<OptionSpec>& specs,
                                     const std::vector<std::string>& args, const std::string& launchDir);

/// The same engine for the runner's own options (server_options.cpp), which declare their --help: words in
/// the forms cxxopts reads ("--name value", "--name=value", "--flag", "-nv", "-l file"), messages without a
/// leading "CONTEXT: " when context is empty. preset holds values already converted (a deployment file's), which
/// the words override. When every is not null, each (long name, value as written) the words give is appended to
/// it in order: an option that may repeat (--plugin-path) reads all its values there.
Options parseOptionWords(const std::string& context, const std::vector<OptionSpec>& specs,
                         const std::vector<std::string>& words, const std::string& launchDir,
                         std::map<std::string, OptionValue> preset = {},
                         std::vector<std::pair<std::string, std::string>>* every = nullptr);

/// The options of specs from the values given (already converted, by name): marks them given, adds each
/// default, refuses a missing required option ("hello: option --name is required") and runs the validators
/// ("hello: option --count: count must be >= 0, got -2"). A default that its kind or its validator refuses is a
/// cppd::Error (software) naming the plugin. Values for names without a spec are ignored (callers refuse them).
Options completeOptions(const std::string& tapname, const std::vector<OptionSpec>& specs,
                        std::map<std::string, OptionValue> given, const std::string& launchDir);

/// Runs the validators of specs over options parsed against the same declarations without them (a plugin's
/// metadata note declares its options but carries no code), as completeOptions would have run them: a given
/// value refused is a cppd::UsageError ("hello: option --count: count must be >= 0, got -2"), a default refused
/// a cppd::Error (software) naming the plugin.
void runValidators(const std::string& tapname, const std::vector<OptionSpec>& specs, const Options& options);

/// Checks specs as the parser will take them, without parsing anything: names the parser accepts, unique long
/// and short names, --help left to cppd, one-letter long names refused (cxxopts reads "--f" as nothing), a flag's
/// default "true" or "false", and every other default valid for its kind. Throws cppd::Error (data) naming the
/// plugin and the option. Used on a plugin's metadata note before anything shows or parses its options.
void checkOptionSpecs(const std::string& tapname, const std::vector<OptionSpec>& specs);
void checkOptionSpecs(const std::string& tapname, const std::vector<OptionSpecView>& specs);

/// `cppd TAPNAME --help`: "Usage: cppd [options] TAPNAME [plugin options]", the description, then the options
/// in twistd's layout with kinds, defaults and "(required)", ending with --help.
std::string pluginUsage(const std::string& tapname, const std::string& description,
                        const std::vector<OptionSpec>& specs);

}  // namespace cppd::runner
