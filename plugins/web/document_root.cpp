#include "document_root.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cppd/error.hpp>

namespace web {
namespace {

cppd::DirectoryJail openRoot(const std::string& directory) {
  int error = 0;
  std::optional<cppd::DirectoryJail> jail = cppd::DirectoryJail::tryOpen(directory, error);
  if (!jail) throw cppd::systemError("open document root", directory, error);
  return std::move(*jail);
}

}  // namespace

DocumentRoot::DocumentRoot(const std::string& directory) : jail_(openRoot(directory)) {}

int DocumentRoot::open(const std::string& relative, int& error) const {
  return jail_.open(relative, O_RDONLY | O_NONBLOCK, error);
}

bool DocumentRoot::isDirectory(const std::string& relative) const {
  int error = 0;
  const int fd = jail_.open(relative, O_PATH, error);
  if (fd < 0) return false;
  struct stat info {};
  const bool directory = ::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode);
  ::close(fd);
  return directory;
}

}  // namespace web
