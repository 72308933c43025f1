#include "posix/text_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cppd/error.hpp>
#include <cppd/posix/io.hpp>
#include <cppd/posix/unique_fd.hpp>


namespace cppd::runner {
namespace {

const char* typeName(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  return "not a regular file";
}

std::string limitText(std::size_t limit) {
  if (limit % (1 << 20) == 0) return fmt::format("{} bytes ({} MiB)", limit, limit >> 20);
  if (limit % (1 << 10) == 0) return fmt::format("{} bytes ({} KiB)", limit, limit >> 10);
  return fmt::format("{} bytes", limit);
}

}  // namespace

std::optional<std::string> readTextFile(int fd, std::size_t limit) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  if (!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    return std::nullopt;
  }
  if (static_cast<unsigned long long>(st.st_size) > limit) {
    errno = EFBIG;
    return std::nullopt;
  }
  std::string text;
  if (const int error = posix::readAll(fd, text, limit); error != 0) {  // EFBIG too: it grew while we read
    errno = error;
    return std::nullopt;
  }
  return text;
}

std::string readTextFile(const std::string& path, std::string_view what, std::size_t limit) {
  const std::string operation = fmt::format("read {}", what);
  posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) throw systemError(operation, path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw systemError(operation, path, errno);
  if (!S_ISREG(st.st_mode)) {
    throw Error(ErrorKind::noInput, fmt::format("{} {}: it is {}, not a regular file; give the path of a file",
                                                operation, path, typeName(st.st_mode)));
  }
  auto text = readTextFile(fd.get(), limit);
  if (text) return std::move(*text);
  if (errno == EFBIG) {
    throw Error(ErrorKind::config, fmt::format("{} {}: it is larger than the limit of {} for a {}", operation, path,
                                               limitText(limit), what));
  }
  throw systemError(operation, path, errno);
}

}  // namespace cppd::runner
