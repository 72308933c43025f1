#pragma once

// One plugin file, held open from its trust check to its load: it is opened with openat on the descriptor of
// its checked directory (O_NOFOLLOW), checked on the descriptor (regular file, owner, mode), its ELF header is
// read from the descriptor, and dlopen gets /proc/self/fd/N, which names that very file whatever happens to
// its path meanwhile. Copies share the descriptor.

#include <sys/stat.h>

#include <memory>
#include <string>

#include <cppd/posix/unique_fd.hpp>

#include "plugin/plugin_trust.hpp"
#include "plugin/trusted_directory.hpp"

namespace cppd::runner {

class PluginFile {
 public:
  PluginFile() = default;

  /// Opens name in dir and checks it. Throws cppd::Error: permission with the reason alone ("it is writable
  /// by its group (mode 0775); fix with chmod g-w P", "it is a symbolic link; ..."); noInput when it is gone
  /// or not a regular file (a directory or a socket called x.so).
  /// shownAs is the path for messages (default: the canonical directory's path and name).
  static PluginFile open(const TrustedDirectory& dir, const std::string& name, const TrustPolicy& policy,
                         std::string shownAs = {});

  /// openTrustedDirectory on path's directory, then open(): for a plugin named by path.
  static PluginFile openPath(const std::string& path, const TrustPolicy& policy);

  /// The path it was found under, for messages.
  const std::string& path() const noexcept { return path_; }
  int fd() const noexcept { return fd_ ? fd_->get() : -1; }
  /// Its status as checked.
  const struct stat& status() const noexcept { return st_; }
  /// "/proc/self/fd/N": a name for exactly this open file, for dlopen.
  std::string loadPath() const;

 private:
  PluginFile(std::string path, posix::UniqueFd fd, const TrustPolicy& policy);

  std::string path_;
  std::shared_ptr<posix::UniqueFd> fd_;
  struct stat st_ {};
};

}  // namespace cppd::runner
