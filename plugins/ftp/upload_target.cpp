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
  if (target->parent_ < 0) {
    why = std::strerror(error);
    return nullptr;
  }
  const char* name = target->name_.c_str();
  // O_EXCL first, to know whether this upload created the file (and so may remove it again).
  target->fd_ = ::openat(target->parent_, name, kWriteFlags | O_CREAT | O_EXCL, 0644);
  target->created_ = target->fd_ >= 0;
  if (target->fd_ < 0 && errno == EEXIST) target->fd_ = ::openat(target->parent_, name, kWriteFlags);
  struct stat info {};
  if (target->fd_ < 0) {
    // ENXIO: a FIFO nobody reads; EISDIR: a directory. Neither is a file to upload into.
    why = errno == ENXIO || errno == EISDIR ? "not a regular file" : std::strerror(clientError(errno));
    return nullptr;
  }
  if (::fstat(target->fd_, &info) != 0 || !S_ISREG(info.st_mode)) {
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
  if (fd_ >= 0) ::close(fd_);
  if (parent_ >= 0) ::close(parent_);
}

bool UploadTarget::prepare(bool append, std::uint64_t offset, std::string& why) {
  int result = 0;
  if (append) {
    result = ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_APPEND);
  } else if (offset == 0) {
    result = ::ftruncate(fd_, 0);
  } else {
    result = ::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0 ? -1 : 0;
  }
  if (result != 0) why = std::strerror(errno);
  return result == 0;
}

int UploadTarget::releaseDescriptor() noexcept {
  const int fd = fd_;
  fd_ = -1;
  return fd;
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
  if (!created_ || parent_ < 0 || ::fstatat(parent_, name_.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (info.st_dev != device_ || info.st_ino != inode_ || info.st_size != 0) return;
  ::unlinkat(parent_, name_.c_str(), 0);
}

}  // namespace ftp
