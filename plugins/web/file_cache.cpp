#include "file_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <fmt/format.h>

#include <cppd/posix/io.hpp>

#include "content_type.hpp"
#include "directory_listing.hpp"
#include "http_date.hpp"

namespace web {
namespace {

// Read-only, and non-blocking so that a FIFO in the tree cannot block the loop before fstat refuses it.
constexpr int kOpenFlags = O_RDONLY | O_NONBLOCK;

Lookup failure(int error) {
  Lookup result;
  switch (error) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
      result.kind = Lookup::Kind::notFound;
      break;
    case EXDEV:  // out of the root
    case ELOOP:
    case EACCES:
    case EPERM:
      result.kind = Lookup::Kind::forbidden;
      break;
    default:
      result.kind = Lookup::Kind::error;
      result.error = error;
  }
  return result;
}

bool sameFile(const FileEntry& entry, const struct stat& info) {
  return entry.device == info.st_dev && entry.inode == info.st_ino &&
         entry.size == static_cast<std::uint64_t>(info.st_size) && entry.mtime == info.st_mtim.tv_sec &&
         entry.mtimeNanoseconds == info.st_mtim.tv_nsec;
}

}  // namespace

FileCache::FileCache(const cppd::DirectoryJail& root, std::string index, bool listing)
    : root_(root), index_(std::move(index)), listing_(listing) {}

Lookup FileCache::lookup(const RequestPath& path, std::time_t now) {
  key_.assign(path.relative);
  if (path.directory) key_.push_back('/');
  const auto found = slots_.find(key_);
  if (found != slots_.end() && found->second.checked == now) {
    Lookup hit;
    hit.kind = Lookup::Kind::file;
    hit.entry = found->second.entry;
    return hit;
  }
  Lookup result = resolve(path);
  if (result.kind != Lookup::Kind::file) {
    if (found != slots_.end()) slots_.erase(found);  // sizes stay approximate until the next clear: harmless
    return result;
  }
  if (found != slots_.end() && found->second.entry != result.entry) slots_.erase(found);
  remember(key_, result.entry, now);
  return result;
}

void FileCache::remember(const std::string& key, const std::shared_ptr<const FileEntry>& entry, std::time_t now) {
  auto& slot = slots_[key];
  if (slot.entry == entry) {
    slot.checked = now;
    return;
  }
  const bool open = entry->file != nullptr;
  const std::uint64_t bytes = entry->body ? entry->body->size() : 0;
  if (slots_.size() > kMaxEntries || bodyBytes_ + bytes > kMaxBodyBytes || openFiles_ + (open ? 1 : 0) > kMaxOpenFiles) {
    slots_.clear();
    bodyBytes_ = 0;
    openFiles_ = 0;
  }
  Slot& fresh = slots_[key];
  fresh.entry = entry;
  fresh.checked = now;
  bodyBytes_ += bytes;
  openFiles_ += open ? 1 : 0;
}

Lookup FileCache::resolve(const RequestPath& path) {
  int error = 0;
  cppd::posix::UniqueFd fd = root_.open(path.relative, kOpenFlags, error);
  if (!fd) return failure(error);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return failure(errno);
  if (S_ISREG(info.st_mode)) {
    if (path.directory) return failure(ENOTDIR);  // "/file.txt/" names nothing
    return resolveFile(std::move(fd), info, path.relative);
  }
  if (!S_ISDIR(info.st_mode)) return failure(EACCES);  // devices, FIFOs, sockets are never served
  if (!path.directory) {
    Lookup redirect;
    redirect.kind = Lookup::Kind::redirect;
    return redirect;
  }
  const std::string indexName = path.relative.empty() ? index_ : path.relative + "/" + index_;
  cppd::posix::UniqueFd index = root_.open(indexName, kOpenFlags, error);
  struct stat indexInfo {};
  if (index && ::fstat(index.get(), &indexInfo) == 0 && S_ISREG(indexInfo.st_mode)) {
    return resolveFile(std::move(index), indexInfo, indexName);
  }
  if (!listing_) return failure(EACCES);
  Lookup listing;
  listing.kind = Lookup::Kind::listing;
  const auto symlinkIsDirectory = [this, &path](const std::string& name) {
    return root_.isDirectory(path.relative.empty() ? name : path.relative + "/" + name);
  };
  if (!renderListing(fd.get(), "/" + path.relative + (path.relative.empty() ? "" : "/"), symlinkIsDirectory,
                     listing.listing)) {
    return failure(errno);
  }
  return listing;
}

Lookup FileCache::resolveFile(cppd::posix::UniqueFd fd, const struct stat& info, const std::string& name) {
  const auto found = slots_.find(key_);
  Lookup result;
  result.kind = Lookup::Kind::file;
  if (found != slots_.end() && sameFile(*found->second.entry, info)) {
    result.entry = found->second.entry;  // unchanged on disk: keep the bytes and the open file
    return result;
  }
  auto entry = std::make_shared<FileEntry>();
  entry->size = static_cast<std::uint64_t>(info.st_size);
  entry->mtime = info.st_mtim.tv_sec;
  entry->mtimeNanoseconds = info.st_mtim.tv_nsec;
  entry->device = info.st_dev;
  entry->inode = info.st_ino;
  const auto stamp = static_cast<std::uint64_t>(info.st_mtim.tv_sec) * 1000000000ull +
                     static_cast<std::uint64_t>(info.st_mtim.tv_nsec);
  entry->etag = fmt::format("\"{:x}-{:x}\"", stamp, entry->size);
  entry->lastModified = formatHttpDate(entry->mtime);
  entry->headers = fmt::format("Content-Type: {}\r\nLast-Modified: {}\r\nETag: {}\r\nAccept-Ranges: bytes\r\n",
                               contentTypeFor(name), entry->lastModified, entry->etag);
  if (entry->size <= kSmallFile) {
    // Exactly the size the headers announce: a file that grew since the fstat gives its first size bytes (EFBIG),
    // one that shrank cannot fill the body and is an error.
    std::string body;
    const int error = cppd::posix::readAll(fd.get(), body, static_cast<std::size_t>(entry->size));
    if (error != 0 && error != EFBIG) return failure(error);
    if (body.size() != entry->size) return failure(EIO);
    entry->body = std::make_shared<const std::string>(std::move(body));
  } else {
    entry->file = std::make_shared<const cppd::SharedFile>(fd.release());
  }
  result.entry = std::move(entry);
  return result;
}

}  // namespace web
