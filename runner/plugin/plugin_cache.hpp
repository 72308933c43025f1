#pragma once

// The plugin metadata cache (a dropin.cache that works): what scanning each plugin file found, keyed by the
// file's path, device, inode, size and mtime, and by the identity of the cppd binary that scanned it. A changed
// file is rescanned, a deleted one dropped; a cache that cannot be written is ignored silently (listing stays
// correct, just slower); a corrupt or foreign cache file is never trusted (versioned header, strict parsing and a
// checksum), and it is replaced atomically (temporary file + rename).

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "plugin/plugin_scanner.hpp"

namespace cppd::runner {

/// What identifies one version of a file.
struct FileIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t mtimeNs = 0;

  static FileIdentity of(const struct stat& st);
  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

class PluginCache {
 public:
  /// Where the cache lives: CPPD_PLUGIN_CACHE if set (empty disables the cache), else
  /// $XDG_CACHE_HOME/cppd/plugins.cache, else ~/.cache/cppd/plugins.cache; nullopt when disabled or no home.
  static std::optional<std::string> defaultLocation();

  /// "cppd 0.1.0 abi 1 exe <dev>:<ino>:<size>:<mtime>" for /proc/self/exe: entries made by another cppd
  /// binary are not trusted.
  static std::string currentBinaryIdentity();

  /// A cache stored at file (nullopt: in memory only, never saved), valid for binaryIdentity.
  PluginCache(std::optional<std::string> file, std::string binaryIdentity);

  /// Reads the file; a missing, unreadable, corrupt or foreign file leaves the cache empty. Never throws.
  void load();

  /// The stored result for path, if its identity still matches.
  const ScanResult* find(const std::string& path, const FileIdentity& identity) const;

  void put(const std::string& path, const FileIdentity& identity, ScanResult result);

  /// Drops entries for files in one of directories that are not in present (deleted or renamed plugins).
  void forgetMissing(const std::set<std::string>& directories, const std::set<std::string>& present);

  /// Writes the cache if anything changed. Failures (read-only directory, full disk) are silent. Never throws.
  void save();

  std::size_t size() const noexcept { return entries_.size(); }

  /// The text of the cache as save() writes it (for tests).
  std::string serialize() const;

  /// Parses text; false (and the cache left empty) unless it is a complete, intact cache for this binary.
  bool parse(const std::string& text);

 private:
  struct Entry {
    FileIdentity identity;
    ScanResult result;
  };

  std::optional<std::string> file_;
  std::string binaryIdentity_;
  std::map<std::string, Entry> entries_;
  bool dirty_ = false;
};

}  // namespace cppd::runner
