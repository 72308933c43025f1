#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <unordered_map>

#include <cppd/directory_jail.hpp>
#include <cppd/posix/unique_fd.hpp>
#include <cppd/shared_file.hpp>

#include "request_path.hpp"

namespace web {

/// A regular file ready to serve: small ones held in memory (sent with writeShared/write, no open or read per
/// request), larger ones held open (sent with sendFile, no open per request). Immutable once built.
struct FileEntry {
  std::shared_ptr<const cppd::SharedFile> file;  // files larger than FileCache::kSmallFile
  std::shared_ptr<const std::string> body;       // the whole content of a small file
  std::uint64_t size = 0;
  std::time_t mtime = 0;
  std::string etag;          // "\"<mtime ns hex>-<size hex>\""
  std::string lastModified;  // IMF-fixdate
  std::string headers;       // Content-Type, Last-Modified, ETag and Accept-Ranges lines, each ending in CRLF
  dev_t device = 0;
  ino_t inode = 0;
  long mtimeNanoseconds = 0;
};

/// What a request path resolved to.
struct Lookup {
  enum class Kind { file, redirect, listing, notFound, forbidden, error };
  Kind kind = Kind::notFound;
  std::shared_ptr<const FileEntry> entry;  // file
  std::string listing;                     // listing: the HTML page
  int error = 0;                           // error: the errno
};

/// Resolves request paths under the document root and keeps what it found, bounded.
///
/// An entry is trusted for the rest of the second it was checked in; after that the next request re-resolves
/// the name through the jail and compares device, inode, size and mtime, keeping the entry (and its bytes) when
/// nothing changed. So a file changed on disk is served fresh at most about a second later, as with nginx's
/// open_file_cache_valid. Bounds: kMaxEntries names, kMaxBodyBytes of small-file content, kMaxOpenFiles held
/// descriptors; reaching one empties the cache (in-flight sends keep their own references).
///
/// Loop thread only.
class FileCache {
 public:
  static constexpr std::uint64_t kSmallFile = 64 * 1024;
  static constexpr std::size_t kMaxEntries = 4096;
  static constexpr std::uint64_t kMaxBodyBytes = 64ull << 20;
  static constexpr std::size_t kMaxOpenFiles = 256;

  /// Serves from root (the document root, which must outlive this cache).
  FileCache(const cppd::DirectoryJail& root, std::string index, bool listing);

  Lookup lookup(const RequestPath& path, std::time_t now);

  std::size_t size() const noexcept { return slots_.size(); }

 private:
  struct Slot {
    std::shared_ptr<const FileEntry> entry;
    std::time_t checked = 0;
  };

  Lookup resolve(const RequestPath& path);
  Lookup resolveFile(cppd::posix::UniqueFd fd, const struct stat& info, const std::string& name);
  void remember(const std::string& key, const std::shared_ptr<const FileEntry>& entry, std::time_t now);

  const cppd::DirectoryJail& root_;
  std::string index_;
  bool listing_;
  std::unordered_map<std::string, Slot> slots_;
  std::uint64_t bodyBytes_ = 0;
  std::size_t openFiles_ = 0;
  std::string key_;  // reused lookup key
};

}  // namespace web
