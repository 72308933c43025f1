#include <cppd/directory_jail.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include <cppd/error.hpp>

namespace cppd {
namespace {

// Added to every open; openat2 refuses O_NOCTTY (or any flag but O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW) with O_PATH.
int always(int flags) { return (flags & O_PATH) != 0 ? flags | O_CLOEXEC : flags | O_CLOEXEC | O_NOCTTY; }

// The components of a relative name, or false with ENOENT in error for a ".." or a NUL byte: callers normalise
// first, and a ".." that reached this far is a bug better refused than interpreted.
bool split(std::string_view relative, std::vector<std::string>& parts, int& error) {
  bool refused = relative.find('\0') != std::string_view::npos;
  while (!refused && !relative.empty()) {
    const std::size_t slash = relative.find('/');
    const std::string_view part = relative.substr(0, slash);
    relative = slash == std::string_view::npos ? std::string_view() : relative.substr(slash + 1);
    if (part == "..") refused = true;
    else if (!part.empty() && part != ".") parts.emplace_back(part);
  }
  if (refused) error = ENOENT;
  return !refused;
}

long openBeneath(int dirFd, const char* name, int flags) {
  open_how how{};
  how.flags = static_cast<unsigned>(flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return ::syscall(SYS_openat2, dirFd, name, &how, sizeof how);
}

// After openat(O_NOFOLLOW) of name in dirFd failed with error: ELOOP when name is a symlink (O_DIRECTORY reports
// a symlink as ENOTDIR, which would tell a client more than "not followed").
int symlinkAware(int dirFd, const std::string& name, int error) {
  struct stat info {};
  if (error == ENOTDIR && ::fstatat(dirFd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(info.st_mode)) {
    return ELOOP;
  }
  return error;
}

}  // namespace

struct DirectoryJail::Impl {
  posix::UniqueFd fd;
  std::string path;
  bool openat2 = false;

  posix::UniqueFd resolve(const std::vector<std::string>& parts, std::size_t count, int flags, int& error) const;
  posix::UniqueFd walk(const std::vector<std::string>& parts, std::size_t count, int flags, int& error) const;
};

posix::UniqueFd DirectoryJail::Impl::resolve(const std::vector<std::string>& parts, std::size_t count, int flags,
                                             int& error) const {
  if (!openat2) return walk(parts, count, flags, error);
  std::string joined = count == 0 ? "." : parts[0];
  for (std::size_t i = 1; i < count; ++i) joined += "/" + parts[i];
  // EAGAIN: a rename elsewhere in the tree raced a ".." inside a symlink and the kernel asks to retry. Retry a few
  // times only: someone renaming in a loop must not be able to spin the caller's event loop forever.
  long result = -1;
  for (int attempt = 0; attempt < 8; ++attempt) {
    result = openBeneath(fd.get(), joined.c_str(), always(flags));
    if (result >= 0 || errno != EAGAIN) break;
  }
  if (result < 0) error = errno;
  return posix::UniqueFd(static_cast<int>(result));
}

// One component at a time, never following a symlink: each step is an openat() on the previous step's
// descriptor, so what was checked is what is used.
posix::UniqueFd DirectoryJail::Impl::walk(const std::vector<std::string>& parts, std::size_t count, int flags,
                                          int& error) const {
  posix::UniqueFd dir;  // none: the root itself
  const auto current = [&dir, this] { return dir ? dir.get() : fd.get(); };
  if (count == 0) {
    posix::UniqueFd self(::openat(fd.get(), ".", always(flags)));
    if (!self) error = errno;
    return self;
  }
  for (std::size_t i = 0; i + 1 < count; ++i) {
    posix::UniqueFd next(::openat(current(), parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) {
      error = symlinkAware(current(), parts[i], errno);
      return next;
    }
    dir = std::move(next);
  }
  const std::string& last = parts[count - 1];
  posix::UniqueFd result(::openat(current(), last.c_str(), always(flags) | O_NOFOLLOW));
  if (!result) error = symlinkAware(current(), last, errno);
  struct stat info {};
  if (result && (flags & O_PATH) != 0 && (::fstat(result.get(), &info) != 0 || S_ISLNK(info.st_mode))) {
    result.reset();  // O_PATH | O_NOFOLLOW opens the link itself
    error = ELOOP;
  }
  return result;
}

DirectoryJail::DirectoryJail(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

DirectoryJail::DirectoryJail(const std::string& directory, Resolver resolver) {
  int error = 0;
  std::optional<DirectoryJail> jail = tryOpen(directory, error, resolver);
  if (!jail) throw systemError("open directory", directory, error);
  impl_ = std::move(jail->impl_);
}

std::optional<DirectoryJail> DirectoryJail::tryOpen(const std::string& directory, int& error, Resolver resolver) {
  auto impl = std::make_unique<Impl>();
  impl->fd.reset(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY));
  if (!impl->fd) {
    error = errno;
    return std::nullopt;
  }
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(directory.c_str(), nullptr), &std::free);
  impl->path = real ? real.get() : directory;
  if (resolver == Resolver::automatic) {
    const posix::UniqueFd probe(static_cast<int>(openBeneath(impl->fd.get(), ".", O_PATH | O_CLOEXEC)));
    impl->openat2 = static_cast<bool>(probe);  // ENOSYS: before Linux 5.6; EPERM: a seccomp filter
  }
  return DirectoryJail(std::move(impl));
}

DirectoryJail::~DirectoryJail() = default;
DirectoryJail::DirectoryJail(DirectoryJail&&) noexcept = default;
DirectoryJail& DirectoryJail::operator=(DirectoryJail&&) noexcept = default;

const std::string& DirectoryJail::path() const noexcept { return impl_->path; }
int DirectoryJail::fd() const noexcept { return impl_->fd.get(); }
bool DirectoryJail::followsSymlinks() const noexcept { return impl_->openat2; }

posix::UniqueFd DirectoryJail::open(std::string_view relative, int flags, int& error) const {
  std::vector<std::string> parts;
  if (!split(relative, parts, error)) return {};
  return impl_->resolve(parts, parts.size(), flags, error);
}

posix::UniqueFd DirectoryJail::openParent(std::string_view relative, std::string& name, int& error) const {
  std::vector<std::string> parts;
  if (!split(relative, parts, error)) return {};
  if (parts.empty()) {
    error = EINVAL;
    return {};
  }
  name = parts.back();
  return impl_->resolve(parts, parts.size() - 1, O_PATH | O_DIRECTORY, error);
}

bool DirectoryJail::isDirectory(std::string_view relative) const {
  int error = 0;
  const posix::UniqueFd found = open(relative, O_PATH, error);
  struct stat info {};
  return found && ::fstat(found.get(), &info) == 0 && S_ISDIR(info.st_mode);
}

}  // namespace cppd
