#include "plugin/trusted_directory.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cppd/error.hpp>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <memory>

namespace cppd::runner {
namespace {

constexpr int walkFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

[[noreturn]] void refuse(const std::string& reason) { throw Error(ErrorKind::permission, reason); }

std::string canonical(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
  if (!real) throw Error(ErrorKind::noInput, std::strerror(errno));
  return real.get();
}

// One directory of the walk, checked on its descriptor.
void check(const posix::UniqueFd& fd, const std::string& path, bool last, const TrustPolicy& policy) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) refuse(fmt::format("cannot stat {}: {}", path, std::strerror(errno)));
  if (!S_ISDIR(st.st_mode)) refuse(fmt::format("{} changed while it was being checked", path));
  auto problem = last ? directoryTrustProblem(path, st, policy) : ancestorTrustProblem(path, st, policy);
  if (problem) refuse(*problem);
}

}  // namespace

TrustedDirectory openTrustedDirectory(const std::string& path, const TrustPolicy& policy) {
  const std::string target = canonical(path);
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) throw Error(ErrorKind::noInput, "not a directory");

  posix::UniqueFd fd(::open("/", walkFlags));
  if (!fd) refuse(fmt::format("cannot open /: {}", std::strerror(errno)));
  check(fd, "/", target == "/", policy);
  // realpath's result is absolute, with single slashes and no trailing one.
  for (std::size_t start = 1; start < target.size();) {
    const std::size_t end = std::min(target.find('/', start), target.size());
    const std::string name = target.substr(start, end - start);
    const std::string walked = target.substr(0, end);
    posix::UniqueFd next(::openat(fd.get(), name.c_str(), walkFlags));
    if (!next) {
      // realpath just saw a directory here: a symlink or a file in its place now means someone swapped it.
      const int err = errno;
      if (err == ELOOP || err == ENOTDIR) refuse(fmt::format("{} changed while it was being checked", walked));
      refuse(fmt::format("cannot open {}: {}", walked, std::strerror(err)));
    }
    check(next, walked, end == target.size(), policy);
    fd = std::move(next);
    start = end + 1;
  }
  return TrustedDirectory{target, std::move(fd)};
}

}  // namespace cppd::runner
