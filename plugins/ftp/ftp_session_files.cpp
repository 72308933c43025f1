// FtpSession: commands on single files and directories over the control connection (SIZE, MDTM, MLST, DELE,
// MKD, RMD, RNFR/RNTO). Writes are allowed only to authenticated users of a writable root. Every name is
// resolved beneath the served root's descriptor, and entries are changed with *at calls on their parent's
// descriptor, so nothing a local user swaps into the tree can redirect them outside.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include <cppd/log.hpp>

#include "ftp_session.hpp"
#include "listing.hpp"

namespace ftp {
namespace {

std::string failure(const std::string& path, int error) {
  return fmt::format("{}: {}.", path, std::strerror(clientError(error)));
}

}  // namespace

bool FtpSession::checkStat(const std::string& virtualPath, struct stat& info) {
  int error = 0;
  // O_PATH: no device is ever opened.
  const cppd::posix::UniqueFd fd = config_->jail->open(virtualPath, O_PATH, error);
  if (!fd || ::fstat(fd.get(), &info) != 0) {
    reply(550, fmt::format("{}: No such file or directory.", virtualPath));
    return false;
  }
  return true;
}

void FtpSession::cmdSize(const std::string& arg) {
  const auto path = resolve(arg);
  struct stat info {};
  if (!path || !checkStat(*path, info)) return;
  if (!S_ISREG(info.st_mode)) return reply(550, fmt::format("{}: not a regular file.", arg));
  reply(213, std::to_string(info.st_size));
}

void FtpSession::cmdMdtm(const std::string& arg) {
  const auto path = resolve(arg);
  struct stat info {};
  if (!path || !checkStat(*path, info)) return;
  reply(213, timeVal(info.st_mtime));
}

void FtpSession::cmdMlst(const std::string& arg) {
  const auto path = resolve(arg);
  ListEntry entry;
  if (!path || !checkStat(*path, entry.info)) return;
  entry.name = *path;
  replyLines(250, "Listing " + *path, {" " + mlsxLine(entry, writable_)}, "End.");
}

void FtpSession::cmdDele(const std::string& arg) {
  const auto path = resolve(arg);
  if (!path || !mayWrite(550)) return;
  std::string name;
  int error = 0;
  const cppd::posix::UniqueFd parent = openEntryParent(*config_->jail, *path, name, error);
  struct stat info {};
  if (parent && ::fstatat(parent.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(info.st_mode)) {
    return reply(550, fmt::format("{}: is a directory; use RMD.", *path));
  }
  if (parent && ::unlinkat(parent.get(), name.c_str(), 0) != 0) error = errno;
  if (!parent || error != 0) return reply(550, failure(*path, error));
  cppd::log::info("deleted {}", *path);
  reply(250, fmt::format("{} deleted.", *path));
}

void FtpSession::cmdMkd(const std::string& arg) {
  const auto path = resolve(arg);
  if (!path || !mayWrite(550)) return;
  std::string name;
  int error = 0;
  const cppd::posix::UniqueFd parent = openEntryParent(*config_->jail, *path, name, error);
  if (parent && ::mkdirat(parent.get(), name.c_str(), 0755) != 0) error = errno;
  if (!parent || error != 0) return reply(550, failure(*path, error));
  cppd::log::info("created directory {}", *path);
  reply(257, quotedPath(*path) + " created.");
}

void FtpSession::cmdRmd(const std::string& arg) {
  const auto path = resolve(arg);
  if (!path || !mayWrite(550)) return;
  std::string name;
  int error = 0;
  const cppd::posix::UniqueFd parent = openEntryParent(*config_->jail, *path, name, error);
  if (parent && ::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) != 0) error = errno;
  if (!parent || error != 0) return reply(550, failure(*path, error));
  if (cwd_ == *path || cwd_.rfind(*path + "/", 0) == 0) cwd_.assign(1, '/');
  cppd::log::info("removed directory {}", *path);
  reply(250, fmt::format("{} removed.", *path));
}

void FtpSession::cmdRnfr(const std::string& arg) {
  const auto path = resolve(arg);
  if (!path || !mayWrite(550)) return;
  std::string name;
  int error = 0;
  const cppd::posix::UniqueFd parent = openEntryParent(*config_->jail, *path, name, error);
  struct stat info {};
  if (parent && ::fstatat(parent.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) error = errno;
  if (!parent || error != 0) return reply(550, failure(*path, error));
  renameFrom_ = *path;  // the virtual path: RNTO resolves both names beneath the root again
  reply(350, "Ready for RNTO.");
}

void FtpSession::cmdRnto(const std::string& arg) {
  if (!renameFrom_) return reply(503, "Send RNFR first.");
  const std::string from = *renameFrom_;
  renameFrom_.reset();
  const auto path = resolve(arg);
  if (!path || !mayWrite(550)) return;
  std::string fromName, toName;
  int error = 0;
  const cppd::posix::UniqueFd fromParent = openEntryParent(*config_->jail, from, fromName, error);
  const cppd::posix::UniqueFd toParent =
      fromParent ? openEntryParent(*config_->jail, *path, toName, error) : cppd::posix::UniqueFd();
  if (toParent && ::renameat(fromParent.get(), fromName.c_str(), toParent.get(), toName.c_str()) != 0) {
    error = errno;
  }
  if (!toParent || error != 0) return reply(553, failure(*path, error));
  cppd::log::info("renamed {} to {}", from, *path);
  reply(250, "Rename successful.");
}

}  // namespace ftp
