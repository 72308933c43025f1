#pragma once

// A name in a directory that is held open, for the files the runner creates and writes as its own (pidfile, log
// file and its rotations). Everything is done relative to the directory's descriptor, so chdir and
// chroot change nothing, and a file is only ever used after it was checked on the descriptor that was opened:
// opened with O_NOFOLLOW (a planted symlink is refused), O_NONBLOCK (a FIFO cannot hang us) and O_NOCTTY, and
// then refused unless it is a regular file with a single link owned by one of the expected users. Otherwise
// a name planted by someone else (/dev/null, a hard link to a secret, a FIFO) would be chmod'ed, truncated,
// written or given away before anything looked at it.

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include <cppd/posix/unique_fd.hpp>

namespace cppd::runner {

/// Whose files the runner may take as its own, and what else it accepts.
struct OwnFileRules {
  std::vector<uid_t> owners;            // the file must be owned by one of these
  bool allowCharacterDevice = false;    // a log may go to /dev/null: written, never chmod'ed, renamed or chown'ed
};

/// Why the file with status st cannot be used as the runner's own file, or an empty string: "it is a character
/// device, not a regular file", "it has 2 hard links (it may be another file linked in)", "it is owned by uid
/// 65534, not by uid 0".
std::string ownFileProblem(const struct stat& st, const OwnFileRules& rules);

/// What opening an entry gave: the descriptor and its status, or why not (problem set: refused by the rules;
/// otherwise err holds the errno of the failed call).
struct OpenedEntry {
  posix::UniqueFd fd;
  struct stat status {};
  bool created = false;  // this call created the file
  std::string problem;
  int err = 0;
};

class DirectoryEntry {
 public:
  /// Holds the directory of path open (O_PATH). Throws std::system_error (the errno of open).
  explicit DirectoryEntry(const std::string& path);

  /// Opens the entry with flags (O_NOFOLLOW, O_NONBLOCK, O_NOCTTY and O_CLOEXEC are added) and checks it on
  /// the descriptor. With O_CREAT, a missing file is created exclusively (mode), so created is exact; O_TRUNC
  /// is applied only after the checks passed. An existing entry that the rules already refuse by its name's
  /// status is not even opened.
  OpenedEntry open(int flags, mode_t mode, const OwnFileRules& rules) const;

  /// True while the name still names the open file fd (same device and inode; a symlink there is not it).
  bool names(int fd) const;

  const std::string& path() const noexcept { return path_; }
  const std::string& directory() const noexcept { return directory_; }
  const std::string& name() const noexcept { return name_; }
  int dirFd() const noexcept { return dirFd_.get(); }

 private:
  std::string path_;
  std::string directory_;
  std::string name_;
  posix::UniqueFd dirFd_;
};

}  // namespace cppd::runner
