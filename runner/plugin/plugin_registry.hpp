#pragma once

// Plugin discovery: which directories are searched, in which order, and what each plugin file in them turned
// out to be. The registry never loads or runs plugin code: it reads each plugin's metadata note from the
// descriptor it trust-checked (no dlopen, no child process), or takes what the note said from the user's note
// cache when nothing about the file changed (plugin_note_cache.hpp). The plugin that is actually run is opened
// and checked on its descriptor (PluginInfo::file), its whole note read again from it, and loaded from that
// same descriptor with loadPlugin().

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plugin/plugin_file.hpp"
#include "plugin/plugin_note.hpp"
#include "plugin/plugin_trust.hpp"
#include "plugin/trusted_directory.hpp"

namespace cppd::runner {

/// Where a plugin directory came from, in search order.
enum class PluginSource { pluginPathOption, environment, builtIn };

/// "--plugin-path", "CPPD_PLUGIN_PATH", "built-in".
std::string toString(PluginSource source);

struct PluginDirectory {
  std::string path;  // absolute
  PluginSource source;
};

/// A usable plugin: what a listing shows of its note, and where its file is.
struct PluginInfo {
  std::string tapname = {};
  std::string description = {};
  std::string path = {};
  PluginSource source = PluginSource::builtIn;
  std::shared_ptr<const TrustedDirectory> directory = {};  // the checked directory it was found in
  std::string fileName = {};                               // its name there
  TrustPolicy trust = {};

  /// The checked file: still open when the listing read its note, else opened now by name in the directory
  /// the listing checked (a listing from the note cache opens no plugin) and checked on its descriptor. Load
  /// exactly this one (loadPlugin). Throws cppd::Error as PluginFile::open does.
  const PluginFile& file() const;

  /// Its whole metadata note (options, version, stamp), read again from file() and checked again. A listing
  /// keeps only what it shows: options of hundreds of plugins filled 80 heap pages, each a page fault, for
  /// nothing. Throws cppd::Error (data) with the reason alone when the note no longer passes or names another
  /// tapname.
  PluginNote note() const;

  mutable std::optional<PluginFile> opened = {};  // file() once opened
};

/// A plugin file (or directory) that was skipped, and why.
struct RejectedPlugin {
  std::string path;
  PluginSource source;
  std::string reason;
};

struct PluginCatalog {
  std::vector<PluginInfo> plugins;        // sorted by tapname; first in search order wins
  std::vector<RejectedPlugin> rejected;   // in search order
  std::vector<PluginDirectory> searched;  // the search path actually used

  const PluginInfo* find(const std::string& tapname) const;
  /// Rejected files whose name (without ".so") is name: "why is there no command 'foo'?".
  std::vector<const RejectedPlugin*> rejectedNamed(const std::string& name) const;
};

/// The directory holding plugins that ship with this cppd: the build tree's plugin directory when the running
/// executable is inside the build tree, else <executable dir>/../lib/cppd/plugins (CPPD_INSTALL_PLUGIN_DIR).
std::string builtInPluginDirectory();

/// --plugin-path directories, then CPPD_PLUGIN_PATH (colon-separated; empty entries ignored), then builtIn.
/// Relative paths are made absolute against the current directory; repeated directories keep their first place.
std::vector<PluginDirectory> pluginSearchPath(const std::vector<std::string>& pluginPathOption,
                                              const char* environmentValue, const std::string& builtIn);

struct DiscoverySettings {
  std::vector<PluginDirectory> directories;
  TrustPolicy trust;
  bool useNoteCache = false;  // list unchanged plugins from the user's note cache (plugin_note_cache.hpp)
};

/// Finds every *.so in the directories, checks trust, reads each one's metadata note and checks its ABI stamp,
/// and resolves duplicate tapnames. Never throws for bad plugins: they end up in rejected with a reason.
PluginCatalog discoverPlugins(const DiscoverySettings& settings);

}  // namespace cppd::runner
