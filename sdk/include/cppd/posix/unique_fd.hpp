#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace cppd::posix {

/// An owned file descriptor: closed when the owner goes away, so an early return or an exception between an
/// open and its use can never leak one. Move-only; -1 (or any negative value) means "none".
///
/// Own only what is yours to close: a descriptor handed to libuv (a socket adopted by a handle) is closed by
/// libuv's close callback, so release() it at the hand-over.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;

  /// Takes fd (the result of open(2), socket(2) and the like; -1 is accepted, so `UniqueFd fd(::open(...));
  /// if (!fd) ...errno...` works: nothing here touches errno on that path).
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}

  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  /// Gives up ownership: returns the descriptor (-1 when none) and holds none.
  int release() noexcept { return std::exchange(fd_, -1); }

  /// Closes the held descriptor (errors ignored: there is nobody to tell) and takes fd instead.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

  /// Closes the held descriptor now and says how that went: 0, or the errno of close(2) (a file written over
  /// NFS or to a full disk may report its write error only here). Holds none afterwards, whatever the result
  /// (Linux frees the descriptor even when close fails, so retrying could close someone else's). 0 when none.
  int close() noexcept {
    if (fd_ < 0) return 0;
    return ::close(std::exchange(fd_, -1)) == 0 ? 0 : errno;
  }

 private:
  int fd_ = -1;
};

}  // namespace cppd::posix
