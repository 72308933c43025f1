#include "plugin/plugin_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <cerrno>
#include <cppd/error.hpp>
#include <cstring>
#include <filesystem>

namespace cppd::runner {

PluginFile::PluginFile(std::string path, posix::UniqueFd fd, const TrustPolicy& policy)
    : path_(std::move(path)), fd_(std::make_shared<posix::UniqueFd>(std::move(fd))) {
  if (::fstat(fd_->get(), &st_) != 0) {
    throw Error(ErrorKind::noInput, fmt::format("cannot stat: {}", std::strerror(errno)));
  }
  if (!S_ISREG(st_.st_mode)) throw Error(ErrorKind::noInput, "not a regular file");
  if (auto problem = fileTrustProblem(path_, st_, policy)) throw Error(ErrorKind::permission, *problem);
}

PluginFile PluginFile::open(const TrustedDirectory& dir, const std::string& name, const TrustPolicy& policy,
                            std::string shownAs) {
  std::string path = !shownAs.empty() ? std::move(shownAs) : dir.path == "/" ? "/" + name : dir.path + "/" + name;
  // O_NONBLOCK: a FIFO named x.so must not stop the listing; the fstat check then refuses it.
  posix::UniqueFd fd(::openat(dir.fd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    if (err == ELOOP) {
      throw Error(ErrorKind::permission,
                  "it is a symbolic link; cppd loads only regular files (copy the plugin, or add the directory it "
                  "lives in with --plugin-path)");
    }
    throw Error(err == ENOENT ? ErrorKind::noInput : ErrorKind::permission,
                fmt::format("cannot open: {}", std::strerror(err)));
  }
  return PluginFile(std::move(path), std::move(fd), policy);
}

PluginFile PluginFile::openPath(const std::string& path, const TrustPolicy& policy) {
  const std::filesystem::path p = std::filesystem::absolute(path);
  TrustedDirectory dir = openTrustedDirectory(p.parent_path().string(), policy);
  return open(dir, p.filename().string(), policy, p.string());
}

std::string PluginFile::loadPath() const { return fmt::format("/proc/self/fd/{}", fd()); }

}  // namespace cppd::runner
