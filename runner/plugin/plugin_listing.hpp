#pragma once

// What the user reads about plugins: the Commands list of `cppd --help` (and bare `cppd`), `cppd --list-plugins
// [-v]`, and the message for a command that is not there.

#include <string>
#include <vector>

#include "plugin/plugin_registry.hpp"

namespace cppd::runner {

/// The full `cppd --help`: synopsis, runner options (runnerOptionsUsage, serverOptionsUsage() in practice), then
/// "Commands:" with one line per plugin sorted by tapname ("    hello       Says hello."), then a note naming
/// each plugin file that could not be used and why.
std::string mainUsage(const PluginCatalog& catalog, const std::string& runnerOptionsUsage);

/// Just the "Commands:" block and the note on rejected plugins.
std::string commandsListing(const PluginCatalog& catalog);

/// `cppd --list-plugins`: each plugin with its file and the search-path entry it came from, then the directories
/// searched; with verbose, every rejected file or directory with its reason (else only how many there were).
std::string pluginList(const PluginCatalog& catalog, bool verbose);

/// Tapnames close to name (edit distance, or a prefix), best first.
std::vector<std::string> closeMatches(const std::string& name, const std::vector<std::string>& candidates);

/// "unknown command 'helo' (did you mean 'hello'?); run 'cppd --help' for the list of commands", or, when a
/// plugin file named name.so was rejected, "unknown command 'bad': plugin /x/bad.so could not be used: <reason>".
std::string unknownCommandMessage(const std::string& name, const PluginCatalog& catalog,
                                  const char* noun = "command");

}  // namespace cppd::runner
