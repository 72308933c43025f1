#pragma once

// A plugin's command line: the runner builds a cxxopts parser from the plugin's OptionSpecs, checks and converts
// every value by its kind, applies defaults, required options and validators, and hands the plugin a
// cppd::Options. Plugins never see cxxopts. Also the plugin's --help text.

#include <cppd/option_spec.hpp>
#include <cppd/options.hpp>
#include <string>
#include <vector>

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

/// Checks value against kind and returns what the plugin gets: octal and size values as decimal numbers, paths
/// absolute, flags "true"/"false", everything else as given. Throws cppd::UsageError with the reason only
/// ("'abc' is not a port number (0-65535)").
std::string convertOptionValue(OptionKind kind, const std::string& value, const std::string& launchDir);

/// `cppd TAPNAME --help`: "Usage: cppd [options] TAPNAME [plugin options]", the description, then the options
/// in twistd's layout with kinds, defaults and "(required)", ending with --help.
std::string pluginUsage(const std::string& tapname, const std::string& description,
                        const std::vector<OptionSpec>& specs);

}  // namespace cppd::runner
