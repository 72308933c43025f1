#include "posix/directory_entry.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

namespace cppd::runner {
namespace {

const char* typeName(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFIFO:
      return "a FIFO";
    case S_IFSOCK:
      return "a socket";
    case S_IFDIR:
      return "a directory";
    case S_IFLNK:
      return "a symbolic link";
    default:
      return "not a regular file";
  }
}

std::string ownersText(const std::vector<uid_t>& owners) {
  std::string text;
  for (std::size_t i = 0; i < owners.size(); ++i) {
    text += fmt::format("{}uid {}", i == 0 ? "" : i + 1 == owners.size() ? " or " : ", ", owners[i]);
  }
  return text;
}

// Opens name in dirFd into result.fd, or sets result.problem (refused by the name's status, without opening
// it: opening a device can have effects of its own) or result.err. With O_CREAT a missing name is created
// with O_EXCL, so result.created is exact; a name that appears or disappears meanwhile is looked at again.
void openOrCreate(int dirFd, const std::string& name, int flags, mode_t mode, const OwnFileRules& rules,
                  OpenedEntry& result) {
  const int safe = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  for (int attempt = 0; attempt < 10; ++attempt) {
    struct stat before {};
    if (::fstatat(dirFd, name.c_str(), &before, AT_SYMLINK_NOFOLLOW) == 0) {
      result.problem = ownFileProblem(before, rules);
      if (!result.problem.empty()) return;
      result.fd.reset(::openat(dirFd, name.c_str(), (flags & ~(O_CREAT | O_EXCL)) | safe));
      if (!result.fd && errno == ENOENT && (flags & O_CREAT)) continue;  // removed meanwhile: create it
    } else if (errno == ENOENT && (flags & O_CREAT)) {
      result.fd.reset(::openat(dirFd, name.c_str(), flags | O_EXCL | safe, mode));
      result.created = static_cast<bool>(result.fd);
      if (!result.fd && errno == EEXIST) continue;  // appeared meanwhile: look at it again
    } else {
      result.err = errno;
      return;
    }
    if (!result.fd) {
      result.err = errno;
      if (result.err == ELOOP) result.problem = "it is a symbolic link, not a regular file";
    }
    return;
  }
  result.err = EAGAIN;  // it keeps changing
}

}  // namespace

std::string ownFileProblem(const struct stat& st, const OwnFileRules& rules) {
  if (S_ISCHR(st.st_mode) && rules.allowCharacterDevice) return {};
  if (!S_ISREG(st.st_mode)) return fmt::format("it is {}, not a regular file", typeName(st.st_mode));
  if (st.st_nlink != 1) {
    return fmt::format("it has {} hard links (it may be another file linked in)",
                       static_cast<unsigned long>(st.st_nlink));
  }
  if (std::find(rules.owners.begin(), rules.owners.end(), st.st_uid) == rules.owners.end()) {
    return fmt::format("it is owned by uid {}, not by {}", st.st_uid, ownersText(rules.owners));
  }
  return {};
}

DirectoryEntry::DirectoryEntry(const std::string& path) : path_(path) {
  const std::filesystem::path p(path);
  name_ = p.filename().string();
  directory_ = p.has_parent_path() ? p.parent_path().string() : std::string(".");
  dirFd_.reset(::open(directory_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dirFd_) throw std::system_error(errno, std::generic_category());
}

OpenedEntry DirectoryEntry::open(int flags, mode_t mode, const OwnFileRules& rules) const {
  OpenedEntry result;
  // Truncating is writing: it waits until the descriptor has passed the checks.
  const bool truncate = (flags & O_TRUNC) != 0;
  openOrCreate(dirFd_.get(), name_, flags & ~O_TRUNC, mode, rules, result);
  if (!result.fd) return result;
  if (::fstat(result.fd.get(), &result.status) != 0) {
    result.err = errno;
    result.fd.reset();
    return result;
  }
  result.problem = ownFileProblem(result.status, rules);
  if (!result.problem.empty()) {
    result.fd.reset();
  } else if (truncate && S_ISREG(result.status.st_mode) && ::ftruncate(result.fd.get(), 0) != 0) {
    result.err = errno;
    result.fd.reset();
  }
  return result;
}

bool DirectoryEntry::names(int fd) const {
  struct stat open {}, named {};
  return ::fstat(fd, &open) == 0 && ::fstatat(dirFd_.get(), name_.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
         open.st_ino == named.st_ino && open.st_dev == named.st_dev;
}

}  // namespace cppd::runner
