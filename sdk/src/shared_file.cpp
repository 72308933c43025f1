#include <cppd/shared_file.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include <cppd/error.hpp>

namespace cppd {

SharedFile::SharedFile(int fd) : fd_(fd) {
  if (fd < 0) throw std::invalid_argument("SharedFile: a negative file descriptor");
}

SharedFile::~SharedFile() { ::close(fd_); }

std::shared_ptr<const SharedFile> SharedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) throw systemError("open file", path, errno);
  return std::make_shared<const SharedFile>(fd);
}

std::uint64_t SharedFile::size() const {
  struct stat info {};
  if (::fstat(fd_, &info) != 0) throw systemError("stat file", "descriptor " + std::to_string(fd_), errno);
  return static_cast<std::uint64_t>(info.st_size);
}

}  // namespace cppd
