#pragma once

#include <unistd.h>

#include <utility>

namespace ftp {

/// A file descriptor closed when it goes out of scope (-1: none).
struct Descriptor {
  int fd = -1;

  explicit Descriptor(int value) noexcept : fd(value) {}
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;

  int release() noexcept { return std::exchange(fd, -1); }
};

}  // namespace ftp
