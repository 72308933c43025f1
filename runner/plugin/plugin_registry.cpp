#include "plugin/plugin_registry.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>

#include <cppd/error.hpp>

#include "plugin/abi_stamp.hpp"
#include "plugin/plugin_note.hpp"
#include "plugin/trusted_directory.hpp"

namespace cppd::runner {
namespace {

namespace fs = std::filesystem;

struct Candidate {
  PluginFile file;
  PluginSource source;
  const std::string& path() const noexcept { return file.path(); }
};

// What one plugin file's note says, or why it cannot be used.
struct NoteResult {
  std::optional<PluginNote> note;
  std::string reason;
};

std::string absolute(const std::string& path) { return fs::absolute(path).lexically_normal().string(); }

bool isInside(const fs::path& file, const fs::path& directory) {
  auto rel = file.lexically_relative(directory);
  return !rel.empty() && *rel.begin() != "..";
}

// The *.so names in the open directory, sorted.
std::vector<std::string> soNames(const TrustedDirectory& dir) {
  std::vector<std::string> names;
  posix::UniqueFd fd(::openat(dir.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* handle = fd ? ::fdopendir(fd.get()) : nullptr;
  if (handle == nullptr) {
    const int err = errno;  // before fd closes
    throw Error(ErrorKind::noInput, std::strerror(err));
  }
  fd.release();  // closedir closes it
  while (dirent* entry = ::readdir(handle)) {
    std::string_view name(entry->d_name);
    if (name.size() > 3 && name.front() != '.' && name.substr(name.size() - 3) == ".so") names.emplace_back(name);
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

// The *.so regular files of one trusted directory, sorted by name, each open and checked on its descriptor;
// problems go to catalog.rejected. Every directory from / down is checked too (openTrustedDirectory), and
// files are opened relative to the checked directory, so nothing here is resolved by path twice.
std::vector<Candidate> listDirectory(const PluginDirectory& dir, const TrustPolicy& trust, PluginCatalog& catalog) {
  std::vector<Candidate> found;
  TrustedDirectory opened;
  std::vector<std::string> names;
  try {
    opened = openTrustedDirectory(dir.path, trust);
    names = soNames(opened);
  } catch (const Error& e) {
    // Only a directory the user named explicitly is worth a complaint; a missing default is normal.
    if (e.kind() == ErrorKind::permission) {
      catalog.rejected.push_back({dir.path, dir.source, fmt::format("plugin directory refused: {}", e.what())});
    } else if (dir.source != PluginSource::builtIn) {
      catalog.rejected.push_back({dir.path, dir.source, fmt::format("plugin directory: {}", e.what())});
    }
    return found;
  }
  for (const auto& name : names) {
    const std::string path = dir.path + "/" + name;  // as the user gave the directory, in every message
    try {
      PluginFile file = PluginFile::open(opened, name, trust, path);
      found.push_back({std::move(file), dir.source});
    } catch (const Error& e) {
      // Gone since the listing, or not a regular file: not a plugin, nothing to say.
      if (e.kind() == ErrorKind::permission) {
        catalog.rejected.push_back({path, dir.source, fmt::format("refused: {}", e.what())});
      }
    }
  }
  return found;
}

// Reads the note of the checked descriptor, and checks its ABI stamp: data only, no plugin code runs.
NoteResult readNote(const Candidate& candidate) {
  try {
    PluginNote note = readPluginNote(candidate.file.fd(), candidate.file.status().st_size);
    if (auto problem = abiStampProblem(note.stamp); !problem.empty()) return {std::nullopt, problem};
    return {std::move(note), {}};
  } catch (const Error& e) {
    return {std::nullopt, e.what()};
  }
}

// Adds one plugin file to the catalog as soon as its note is read: usable (the first of each tapname in search
// order wins) or rejected with its reason. Deciding at once drops a duplicate's note right away, so a listing's
// memory (and page faults) grows with the usable plugins, not with the files read.
void addResult(const Candidate& candidate, NoteResult result, std::map<std::string, const Candidate*>& winners,
               PluginCatalog& catalog) {
  if (!result.note) {
    catalog.rejected.push_back({candidate.path(), candidate.source, std::move(result.reason)});
    return;
  }
  const std::string tapname = result.note->tapname;
  auto [it, inserted] = winners.emplace(tapname, &candidate);
  if (!inserted) {
    catalog.rejected.push_back(
        {candidate.path(), candidate.source,
         fmt::format("duplicate tapname '{}' (already provided by {}, which comes first in the search order)",
                     tapname, it->second->path())});
    return;
  }
  catalog.plugins.push_back({tapname, result.note->description, candidate.path(), candidate.source, candidate.file,
                             std::move(*result.note)});
}

// Sorts by tapname through an index: a PluginInfo with its note is large, so it is moved once, not at every
// step of the sort.
void sortByTapname(std::vector<PluginInfo>& plugins) {
  std::vector<std::size_t> order(plugins.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return plugins[a].tapname < plugins[b].tapname; });
  std::vector<PluginInfo> sorted;
  sorted.reserve(plugins.size());
  for (std::size_t index : order) sorted.push_back(std::move(plugins[index]));
  plugins = std::move(sorted);
}

}  // namespace

std::string toString(PluginSource source) {
  switch (source) {
    case PluginSource::pluginPathOption:
      return "--plugin-path";
    case PluginSource::environment:
      return "CPPD_PLUGIN_PATH";
    case PluginSource::builtIn:
      return "built-in";
  }
  return "unknown";
}

const PluginInfo* PluginCatalog::find(const std::string& tapname) const {
  for (const auto& plugin : plugins) {
    if (plugin.tapname == tapname) return &plugin;
  }
  return nullptr;
}

std::vector<const RejectedPlugin*> PluginCatalog::rejectedNamed(const std::string& name) const {
  std::vector<const RejectedPlugin*> matches;
  for (const auto& rejectedPlugin : rejected) {
    if (fs::path(rejectedPlugin.path).filename().string() == name + ".so") matches.push_back(&rejectedPlugin);
  }
  return matches;
}

std::string builtInPluginDirectory() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return absolute(CPPD_BUILD_PLUGIN_DIR);
  fs::path buildDir = fs::path(CPPD_BUILD_PLUGIN_DIR).parent_path();
  if (isInside(exe.lexically_normal(), fs::weakly_canonical(buildDir, ec))) return CPPD_BUILD_PLUGIN_DIR;
  fs::path installDir(CPPD_INSTALL_PLUGIN_DIR);
  if (installDir.is_absolute()) return installDir.string();
  return (exe.parent_path().parent_path() / installDir).lexically_normal().string();
}

std::vector<PluginDirectory> pluginSearchPath(const std::vector<std::string>& pluginPathOption,
                                              const char* environmentValue, const std::string& builtIn) {
  std::vector<PluginDirectory> dirs;
  std::set<std::string> seen;
  auto add = [&](const std::string& path, PluginSource source) {
    if (path.empty()) return;
    std::string full = absolute(path);
    while (full.size() > 1 && full.back() == '/') full.pop_back();
    if (seen.insert(full).second) dirs.push_back({full, source});
  };
  for (const auto& dir : pluginPathOption) add(dir, PluginSource::pluginPathOption);
  if (environmentValue != nullptr) {
    std::string_view rest(environmentValue);
    while (!rest.empty()) {
      auto colon = rest.find(':');
      add(std::string(rest.substr(0, colon)), PluginSource::environment);
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  add(builtIn, PluginSource::builtIn);
  return dirs;
}

PluginCatalog discoverPlugins(const DiscoverySettings& settings) {
  PluginCatalog catalog;
  catalog.searched = settings.directories;
  std::vector<Candidate> candidates;
  for (const auto& dir : settings.directories) {
    for (auto& candidate : listDirectory(dir, settings.trust, catalog)) candidates.push_back(std::move(candidate));
  }
  std::map<std::string, const Candidate*> winners;
  catalog.plugins.reserve(candidates.size());
  for (const auto& candidate : candidates) addResult(candidate, readNote(candidate), winners, catalog);
  sortByTapname(catalog.plugins);
  return catalog;
}

}  // namespace cppd::runner
