#include "upload_target.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "jail.hpp"

namespace ftp {
namespace {

constexpr int kWriteFlags = O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;

}  // namespace

std::shared_ptr<UploadTarget> UploadTarget::open(const cppd::DirectoryJail& jail, const std::string& virtualPath,
                                                 std::string& why) {
  std::shared_ptr<UploadTarget> target(new UploadTarget());
  int error = 0;
  target->parent_ = openEntryParent(jail, virtualPath, target->name_, error);
  if (!target->parent_) {
    why = std::strerror(error);
    return nullptr;
  }
  const char* name = target->name_.c_str();
  // O_EXCL first, to know whether this upload created the file (and so may remove it again).
  target->fd_.reset(::openat(target->parent_.get(), name, kWriteFlags | O_CREAT | O_EXCL, 0644));
  target->created_ = static_cast<bool>(target->fd_);
  if (!target->fd_ && errno == EEXIST) target->fd_.reset(::openat(target->parent_.get(), name, kWriteFlags));
  struct stat info {};
  if (!target->fd_) {
    // ENXIO: a FIFO nobody reads; EISDIR: a directory. Neither is a file to upload into.
    why = errno == ENXIO || errno == EISDIR ? "not a regular file" : std::strerror(clientError(errno));
    return nullptr;
  }
  if (::fstat(target->fd_.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    why = "not a regular file";
    return nullptr;
  }
  target->device_ = info.st_dev;
  target->inode_ = info.st_ino;
  target->size_ = static_cast<std::uint64_t>(info.st_size);
  return target;
}

UploadTarget::~UploadTarget() {
  if (!settled_) removeIfCreatedAndEmpty();
}

bool UploadTarget::prepare(bool append, std::uint64_t offset, std::string& why) {
  int result = 0;
  if (append) {
    result = ::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) | O_APPEND);
  } else if (offset == 0) {
    result = ::ftruncate(fd_.get(), 0);
  } else {
    result = ::lseek(fd_.get(), static_cast<off_t>(offset), SEEK_SET) < 0 ? -1 : 0;
  }
  if (result != 0) why = std::strerror(errno);
  return result == 0;
}

void UploadTarget::finished(bool complete, std::uint64_t bytes) noexcept {
  if (settled_) return;
  if (!complete && bytes == 0) removeIfCreatedAndEmpty();
  settled_ = true;
}

// Only the very file this upload created, still empty, still under its name: a file someone else put there in
// the meantime is not ours to remove.
void UploadTarget::removeIfCreatedAndEmpty() noexcept {
  settled_ = true;
  struct stat info {};
  if (!created_ || !parent_ || ::fstatat(parent_.get(), name_.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (info.st_dev != device_ || info.st_ino != inode_ || info.st_size != 0) return;
  ::unlinkat(parent_.get(), name_.c_str(), 0);
}

}  // namespace ftp
