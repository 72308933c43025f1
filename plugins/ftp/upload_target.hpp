#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <cppd/directory_jail.hpp>
#include <cppd/posix/unique_fd.hpp>

namespace ftp {

/// The file a STOR or APPE writes into, opened beneath the served root: its parent directory is opened through
/// the jail and the file with openat(O_NOFOLLOW | O_NONBLOCK) on that descriptor, so neither a symlink swapped
/// in by a local user nor a FIFO can redirect or block the upload; anything but a regular file is refused before
/// a byte is written.
///
/// No debris: a file this upload created is removed again when the upload ends (or is abandoned) without a
/// single byte received, so a refused REST offset, a data connection that never comes or an immediate abort
/// leave the tree as they found it. A partial upload (some bytes, then a failure) is kept, so the client can
/// resume it with REST + STOR as RFC 959 intends. An existing file is never removed. Loop thread only.
class UploadTarget {
 public:
  /// Opens virtualPath for writing, creating it (mode 0644) when missing. Returns nullptr with why set (the text
  /// a client is told: "No such file or directory", "not a regular file") on failure.
  static std::shared_ptr<UploadTarget> open(const cppd::DirectoryJail& jail, const std::string& virtualPath,
                                            std::string& why);
  ~UploadTarget();
  UploadTarget(const UploadTarget&) = delete;
  UploadTarget& operator=(const UploadTarget&) = delete;

  /// The file's size now, in bytes.
  std::uint64_t size() const noexcept { return size_; }

  /// Positions the file for the upload: appended to (APPE), continued at offset (REST, at most size()), or
  /// truncated (a plain STOR). False with why set when the file cannot be truncated or positioned.
  bool prepare(bool append, std::uint64_t offset, std::string& why);

  /// Hands the write descriptor to the transfer, which closes it.
  cppd::posix::UniqueFd releaseDescriptor() noexcept { return std::move(fd_); }

  /// How the upload ended: the file is kept when it completed or received a byte, and removed now otherwise.
  void finished(bool complete, std::uint64_t bytes) noexcept;

 private:
  UploadTarget() = default;
  void removeIfCreatedAndEmpty() noexcept;

  cppd::posix::UniqueFd parent_;  // the directory holding name_ (O_PATH)
  std::string name_;
  cppd::posix::UniqueFd fd_;
  bool created_ = false;
  bool settled_ = false;  // kept, or already removed
  dev_t device_ = 0;
  ino_t inode_ = 0;
  std::uint64_t size_ = 0;
};

}  // namespace ftp
