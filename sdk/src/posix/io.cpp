#include <cppd/posix/io.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace cppd::posix {
namespace {

// A write(2) or pwrite(2) that wrote nothing for a non-empty buffer would loop forever; the kernel does not do
// that for files, pipes or sockets, but a report beats a hang.
int writeLoop(int fd, std::string_view data, off_t offset, bool positional) {
  while (!data.empty()) {
    const ssize_t n =
        positional ? ::pwrite(fd, data.data(), data.size(), offset) : ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    data.remove_prefix(static_cast<std::size_t>(n));
    offset += n;
  }
  return 0;
}

}  // namespace

int readAll(int fd, std::string& out, std::size_t limit) {
  out.clear();
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
    out.reserve(std::min(static_cast<std::size_t>(info.st_size), limit));
  }
  char buffer[16384];
  bool positional = true;
  off_t offset = 0;
  for (;;) {
    const ssize_t n = positional ? ::pread(fd, buffer, sizeof buffer, offset) : ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ESPIPE && positional) {
      positional = false;
      continue;
    }
    if (n < 0) return errno;
    if (n == 0) return 0;
    const std::size_t room = limit - out.size();
    if (static_cast<std::size_t>(n) > room) {
      out.append(buffer, room);
      return EFBIG;
    }
    out.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
}

int writeAll(int fd, std::string_view data) { return writeLoop(fd, data, 0, false); }

int writeAllAt(int fd, std::string_view data, off_t offset) { return writeLoop(fd, data, offset, true); }

}  // namespace cppd::posix
