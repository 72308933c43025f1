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
#include <optional>
#include <set>

#include <cppd/error.hpp>

#include "plugin/abi_stamp.hpp"
#include "plugin/plugin_note.hpp"
#include "plugin/plugin_note_cache.hpp"
#include "plugin/trusted_directory.hpp"

namespace cppd::runner {
namespace {

namespace fs = std::filesystem;

// What one plugin file's note says, or why it cannot be used.
struct NoteResult {
  std::optional<PluginNoteSummary> note;
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

// One directory of the search path, open and checked, with its *.so names.
struct OpenedDirectory {
  const PluginDirectory* dir;
  std::shared_ptr<const TrustedDirectory> opened;
  std::vector<std::string> names;
};

// Opens and checks dir (every directory from / down: openTrustedDirectory) and lists its *.so names; problems
// go to catalog.rejected. Files are then opened relative to the checked directory, so nothing here is resolved
// by path twice.
std::optional<OpenedDirectory> openDirectory(const PluginDirectory& dir, const TrustPolicy& trust,
                                             PluginCatalog& catalog) {
  try {
    OpenedDirectory result{&dir, std::make_shared<TrustedDirectory>(openTrustedDirectory(dir.path, trust)), {}};
    result.names = soNames(*result.opened);
    return result;
  } catch (const Error& e) {
    // Only a directory the user named explicitly is worth a complaint; a missing default is normal.
    if (e.kind() == ErrorKind::permission) {
      catalog.rejected.push_back({dir.path, dir.source, fmt::format("plugin directory refused: {}", e.what())});
    } else if (dir.source != PluginSource::builtIn) {
      catalog.rejected.push_back({dir.path, dir.source, fmt::format("plugin directory: {}", e.what())});
    }
    return std::nullopt;
  }
}

// Reads the note of the checked descriptor, and checks its ABI stamp: data only, no plugin code runs.
NoteResult readNote(const PluginFile& file) {
  try {
    PluginNoteSummary note = readPluginNoteSummary(file.fd(), file.status().st_size);
    if (auto problem = abiStampProblem(note.stamp); !problem.empty()) return {std::nullopt, problem};
    return {std::move(note), {}};
  } catch (const Error& e) {
    return {std::nullopt, e.what()};
  }
}

// Adds a usable plugin to the catalog, unless an earlier directory of the search path had its tapname (the first
// of each tapname in search order wins; winners maps a tapname to its index in catalog.plugins).
void addUsable(const OpenedDirectory& directory, const std::string& name, std::string path, std::string tapname,
               std::string description, std::optional<PluginFile> file, const TrustPolicy& trust,
               std::map<std::string, std::size_t>& winners, PluginCatalog& catalog) {
  auto [it, inserted] = winners.emplace(tapname, catalog.plugins.size());
  if (!inserted) {
    catalog.rejected.push_back(
        {std::move(path), directory.dir->source,
         fmt::format("duplicate tapname '{}' (already provided by {}, which comes first in the search order)",
                     it->first, catalog.plugins[it->second].path)});
    return;
  }
  catalog.plugins.push_back({std::move(tapname), std::move(description), std::move(path), directory.dir->source,
                             directory.opened, name, trust, std::move(file)});
}

// Lists one plugin file: from the note cache when nothing about the file changed since its note was read (one
// fstatat; the trust rules checked on that status), else opened, checked on its descriptor and its note read.
// Only what a listing shows is kept, and a duplicate's or a refused file's descriptor is closed right away,
// so a listing's memory (and page faults, and descriptors) grows with the usable plugins, not the files read.
void addFile(const OpenedDirectory& directory, const std::string& name, const TrustPolicy& trust,
             PluginNoteCache& cache, std::map<std::string, std::size_t>& winners, PluginCatalog& catalog) {
  const PluginDirectory& dir = *directory.dir;
  std::string path = dir.path + "/" + name;  // as the user gave the directory, in every message
  struct stat st {};
  if (cache.enabled() && ::fstatat(directory.opened->fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISREG(st.st_mode) && !fileTrustProblem(path, st, trust)) {
    if (const auto* hit = cache.find(st)) {
      addUsable(directory, name, std::move(path), hit->tapname, hit->description, std::nullopt, trust, winners,
                catalog);
      return;
    }
  }
  std::optional<PluginFile> file;
  try {
    file = PluginFile::open(*directory.opened, name, trust, path);
  } catch (const Error& e) {
    // Gone since the listing, or not a regular file: not a plugin, nothing to say.
    if (e.kind() == ErrorKind::permission) {
      catalog.rejected.push_back({std::move(path), dir.source, fmt::format("refused: {}", e.what())});
    }
    return;
  }
  NoteResult result = readNote(*file);
  if (!result.note) {
    catalog.rejected.push_back({std::move(path), dir.source, std::move(result.reason)});
    return;
  }
  cache.remember(file->status(), result.note->tapname, result.note->description);
  addUsable(directory, name, std::move(path), std::move(result.note->tapname), std::move(result.note->description),
            std::move(file), trust, winners, catalog);
}

// Sorts by tapname: an index is sorted, then each PluginInfo is moved once to its place, in place (a second
// vector of them would be fresh heap pages, each a page fault).
void sortByTapname(std::vector<PluginInfo>& plugins) {
  std::vector<std::size_t> order(plugins.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return plugins[a].tapname < plugins[b].tapname; });
  // order[k] is where the element for place k is now; each cycle of that permutation is followed once.
  std::vector<bool> placed(plugins.size());
  for (std::size_t start = 0; start < plugins.size(); ++start) {
    if (placed[start]) continue;
    PluginInfo held = std::move(plugins[start]);
    std::size_t place = start;
    while (order[place] != start) {
      plugins[place] = std::move(plugins[order[place]]);
      placed[place] = true;
      place = order[place];
    }
    plugins[place] = std::move(held);
    placed[place] = true;
  }
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

const PluginFile& PluginInfo::file() const {
  if (!opened) opened = PluginFile::open(*directory, fileName, trust, path);
  return *opened;
}

PluginNote PluginInfo::note() const {
  const PluginFile& checked = file();
  PluginNote note = readPluginNote(checked.fd(), checked.status().st_size);
  if (auto problem = abiStampProblem(note.stamp); !problem.empty()) throw Error(ErrorKind::data, problem);
  if (note.tapname != tapname) {
    throw Error(ErrorKind::data, fmt::format("its metadata note changed since it was read: tapname '{}', now '{}'",
                                             tapname, note.tapname));
  }
  return note;
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
  std::vector<OpenedDirectory> directories;
  std::size_t files = 0;
  for (const auto& dir : settings.directories) {
    if (auto opened = openDirectory(dir, settings.trust, catalog)) {
      files += opened->names.size();
      directories.push_back(std::move(*opened));
    }
  }
  std::map<std::string, std::size_t> winners;
  catalog.plugins.reserve(files);
  PluginNoteCache cache = settings.useNoteCache ? PluginNoteCache::load() : PluginNoteCache();
  for (const auto& directory : directories) {
    for (const auto& name : directory.names) addFile(directory, name, settings.trust, cache, winners, catalog);
  }
  cache.save();
  sortByTapname(catalog.plugins);
  return catalog;
}

}  // namespace cppd::runner
