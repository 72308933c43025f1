#include "plugin/plugin_listing.hpp"

#include <fmt/format.h>

#include <cppd/log.hpp>

#include <algorithm>
#include <string_view>
#include <numeric>

namespace cppd::runner {
namespace {

// A path, a name or a reason as the terminal should see it: file names and command-line words can hold any
// byte, so control characters, C1 and bidi controls and invalid UTF-8 are shown escaped ("\x1b"), never obeyed.
std::string shown(const std::string& text) {
  std::string out;
  appendEscapedLogText(text, out);
  return out;
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
std::size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string_view firstLine(std::string_view text) { return text.substr(0, text.find('\n')); }

}  // namespace

std::string commandsListing(const PluginCatalog& catalog) {
  std::size_t width = 0;
  for (const auto& plugin : catalog.plugins) width = std::max(width, plugin.tapname.size());
  std::string text = "Commands:\n";
  std::size_t size = text.size();
  for (const auto& plugin : catalog.plugins) size += 8 + width + firstLine(plugin.description).size();
  text.reserve(size);  // one allocation for a listing of hundreds of plugins
  // Appended piece by piece rather than formatted: hundreds of lines, and a tapname is ASCII (its note was
  // refused otherwise), so its length in bytes is its width.
  for (const auto& plugin : catalog.plugins) {
    text += "    ";
    text += plugin.tapname;
    text.append(width - plugin.tapname.size() + 2, ' ');
    text += firstLine(plugin.description);
    text += '\n';
  }
  if (catalog.plugins.empty()) text += "    (no plugins found; see cppd --list-plugins -v)\n";
  if (!catalog.rejected.empty()) {
    text += "\nPlugins that could not be used (details: cppd --list-plugins -v):\n";
    for (const auto& rejected : catalog.rejected) text += fmt::format("    {}: {}\n", shown(rejected.path), shown(rejected.reason));
  }
  return text;
}

std::string mainUsage(const PluginCatalog& catalog, const std::string& runnerOptionsUsage) {
  return "Usage: cppd [options] COMMAND [command options]\n\n" + runnerOptionsUsage +
         "\ncppd loads a service plugin and runs the service it makes, like twistd.\n"
         "'cppd COMMAND --help' shows a command's own options.\n\n" +
         commandsListing(catalog);
}

std::string pluginList(const PluginCatalog& catalog, bool verbose) {
  std::size_t width = 0;
  for (const auto& plugin : catalog.plugins) width = std::max(width, plugin.tapname.size());
  std::string text;
  for (const auto& plugin : catalog.plugins) {
    text += fmt::format("{:<{}}  {} ({})\n", plugin.tapname, width, shown(plugin.path), toString(plugin.source));
  }
  if (catalog.plugins.empty()) text += "no plugins found\n";
  text += "\nSearched, in order:\n";
  for (const auto& dir : catalog.searched) text += fmt::format("    {} ({})\n", shown(dir.path), toString(dir.source));
  if (catalog.rejected.empty()) return text;
  if (!verbose) {
    return text + fmt::format("\n{} plugin file(s) or directories could not be used; cppd --list-plugins -v says why\n",
                              catalog.rejected.size());
  }
  text += "\nRejected:\n";
  for (const auto& rejected : catalog.rejected) {
    text += fmt::format("    {} ({}): {}\n", shown(rejected.path), toString(rejected.source), shown(rejected.reason));
  }
  return text;
}

std::vector<std::string> closeMatches(const std::string& name, const std::vector<std::string>& candidates) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  std::size_t limit = std::max<std::size_t>(1, name.size() / 3);
  for (const auto& candidate : candidates) {
    std::size_t distance = editDistance(name, candidate);
    bool prefix = name.size() >= 2 && candidate.rfind(name, 0) == 0;
    if (distance <= limit || prefix) scored.emplace_back(prefix ? 0 : distance, candidate);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> names;
  for (auto& [distance, candidate] : scored) names.push_back(std::move(candidate));
  return names;
}

std::string unknownCommandMessage(const std::string& name, const PluginCatalog& catalog, const char* noun) {
  auto rejected = catalog.rejectedNamed(name);
  if (!rejected.empty()) {
    return fmt::format("unknown {} '{}': plugin {} could not be used: {}", noun, shown(name),
                       shown(rejected.front()->path), shown(rejected.front()->reason));
  }
  std::vector<std::string> tapnames;
  for (const auto& plugin : catalog.plugins) tapnames.push_back(plugin.tapname);
  auto matches = closeMatches(name, tapnames);
  std::string hint;
  if (!matches.empty()) {
    hint = " (did you mean ";
    for (std::size_t i = 0; i < matches.size() && i < 3; ++i) {
      hint += (i == 0                                              ? ""
               : i + 1 == std::min<std::size_t>(matches.size(), 3) ? " or "
                                                                   : ", ") +
              ("'" + matches[i] + "'");
    }
    hint += "?)";
  }
  return fmt::format("unknown {} '{}'{}; run 'cppd --help' for the list of commands", noun, shown(name), hint);
}

}  // namespace cppd::runner
