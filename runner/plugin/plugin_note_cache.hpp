#pragma once

// What listings learned from plugin notes, kept between runs, so that listing unchanged plugins opens none of
// them: one fstatat per file instead of openat, fstat, pread and close, and no note to decode. On this 2-core
// VM that is most of a 200-plugin listing beyond process start (plugin_listing_bench).
//
// An entry is the tapname and description of one usable plugin file, keyed by everything a change to the
// file changes: device, inode, size, modification and status-change times (ctime cannot be set back by a user,
// so a file rewritten to the same size and mtime still misses). It is remembered only once its ctime lies
// further in the past than the kernel's timestamp granularity, so a file changed again within one clock tick
// cannot keep a stale entry. The cache is also tied to the cppd binary that wrote it (its identity is in the
// header): another cppd may judge notes differently.
//
// The cache never decides what runs: the plugin that is started, or whose help is shown, is opened, checked on
// its descriptor and has its whole note read again (PluginInfo::file, PluginInfo::note). It only lists. Still,
// its bytes are treated as untrusted: it is read only from a regular file owned by the euid and not writable
// by others, in a directory with the same properties ($XDG_CACHE_HOME/cppd, else $HOME/.cache/cppd), with
// O_NOFOLLOW; every length is bounded and every text checked as a note's is. A cache that fails any check is
// ignored and replaced. Writing it is best effort: a new file beside it, then rename; a failure changes nothing.

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cppd::runner {

class PluginNoteCache {
 public:
  struct Entry {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::uint64_t size = 0;
    std::int64_t mtimeNs = 0;
    std::int64_t ctimeNs = 0;
    std::string tapname;
    std::string description;
    bool seen = false;  // found or remembered by this run (not stored)
  };

  /// An empty cache that stores nothing (no usable cache directory).
  PluginNoteCache() = default;

  /// The cache of the user the process runs as, for the running cppd binary. Empty (and disabled when no
  /// directory is usable) on any problem: a cache never stops a listing.
  static PluginNoteCache load();

  /// Whether it is in use: a cache directory that is the user's own (or not made yet).
  bool enabled() const noexcept { return enabled_; }

  /// The entry for the file with status st, when nothing about it changed since it was remembered.
  const Entry* find(const struct stat& st);

  /// Remembers what a usable plugin's note said, when st's ctime is old enough to trust (see above).
  void remember(const struct stat& st, const std::string& tapname, const std::string& description);

  /// Writes the cache when this run remembered something new. Best effort, silent.
  void save();

  /// The file's bytes (format version, binary identity, entries), and the entries read back from bytes
  /// written for the same binary identity; nullopt for anything else. Exposed for tests and fuzzing.
  static std::string encode(std::string_view binaryIdentity, const std::vector<Entry>& entries);
  static std::optional<std::vector<Entry>> decode(std::string_view bytes, std::string_view binaryIdentity);

 private:
  bool enabled_ = false;
  bool changed_ = false;
  std::string directory_;  // the cache directory ($XDG_CACHE_HOME/cppd)
  std::string identity_;   // the running binary's identity, as written in the header
  std::vector<Entry> entries_;
};

}  // namespace cppd::runner
