#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <cppd/export.hpp>

namespace cppd {

/// An open, read-only file that several connections may send from at once (ITransport::sendFile). It owns one
/// descriptor and closes it when the last std::shared_ptr to it goes, so a transport that is still sending keeps
/// the file open even after the caller (a cache, a protocol) has forgotten it. Reads go through pread/sendfile
/// with explicit offsets: the descriptor's own file position is never used, so sharing is safe.
///
/// Immutable after construction; safe to share across threads (the descriptor is only read from).
class CPPD_API SharedFile {
 public:
  /// Takes ownership of fd, an open readable descriptor. Throws std::invalid_argument for a negative fd.
  explicit SharedFile(int fd);
  ~SharedFile();
  SharedFile(const SharedFile&) = delete;
  SharedFile& operator=(const SharedFile&) = delete;

  /// Opens path read-only (O_CLOEXEC, O_NOCTTY, O_NONBLOCK so a FIFO cannot block the loop). Throws
  /// cppd::Error "open file PATH: <errno text>" on failure.
  static std::shared_ptr<const SharedFile> open(const std::string& path);

  /// The descriptor, valid for this object's lifetime. Never close it yourself.
  int fd() const noexcept { return fd_; }

  /// The current size in bytes (fstat). Throws cppd::Error if fstat fails.
  std::uint64_t size() const;

 private:
  int fd_;  // the whole layout: one descriptor (frozen, part of the SDK ABI)
};

}  // namespace cppd
