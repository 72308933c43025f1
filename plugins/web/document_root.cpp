#include "document_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

#include <cppd/error.hpp>

namespace web {
namespace {

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

}  // namespace

DocumentRoot::DocumentRoot(const std::string& directory) {
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(directory.c_str(), nullptr), &std::free);
  if (!real) throw cppd::systemError("open document root", directory, errno);
  canonical_ = real.get();
  rootFd_ = ::open(canonical_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootFd_ < 0) throw cppd::systemError("open document root", directory, errno);
}

DocumentRoot::~DocumentRoot() {
  if (rootFd_ >= 0) ::close(rootFd_);
}

int DocumentRoot::open(const std::string& relative, int& error) const {
  const char* name = relative.empty() ? "." : relative.c_str();
  if (openat2Works_) {
    open_how how{};
    how.flags = kOpenFlags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, rootFd_, name, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != ENOSYS && errno != EPERM) {
      error = errno;
      return -1;
    }
    openat2Works_ = false;  // not in this kernel, or filtered out: use the fallback from now on
  }
  return openFallback(relative, error);
}

int DocumentRoot::openFallback(const std::string& relative, int& error) const {
  const std::string full = relative.empty() ? canonical_ : canonical_ + "/" + relative;
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(full.c_str(), nullptr), &std::free);
  if (!real) {
    error = errno;
    return -1;
  }
  const std::string resolved = real.get();
  const bool beneath = resolved == canonical_ || (resolved.size() > canonical_.size() &&
                                                   resolved.compare(0, canonical_.size(), canonical_) == 0 &&
                                                   (canonical_ == "/" || resolved[canonical_.size()] == '/'));
  if (!beneath) {
    error = EXDEV;
    return -1;
  }
  const int fd = ::open(resolved.c_str(), kOpenFlags | O_NOFOLLOW);
  if (fd < 0) error = errno;
  return fd;
}

}  // namespace web
