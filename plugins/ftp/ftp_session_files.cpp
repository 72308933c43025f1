// FtpSession: commands on single files and directories over the control connection (SIZE, MDTM, MLST, DELE,
// MKD, RMD, RNFR/RNTO). Writes are allowed only to authenticated users of a writable root.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include <cppd/log.hpp>

#include "ftp_session.hpp"
#include "listing.hpp"

namespace ftp {

bool FtpSession::checkStat(const std::string& virtualPath, struct stat& info) {
  const Jail::Resolved real = config_->jail->existing(virtualPath);
  if (!real || ::stat(real.path.c_str(), &info) != 0) {
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

namespace {
std::string failure(const std::string& path, int error) { return fmt::format("{}: {}.", path, std::strerror(error)); }
}  // namespace

void FtpSession::cmdDele(const std::string& arg) {
  const auto path = resolve(arg);
  if (!path || !mayWrite(550)) return;
  const Jail::Resolved real = config_->jail->entry(*path);
  struct stat info {};
  if (real && ::lstat(real.path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return reply(550, fmt::format("{}: is a directory; use RMD.", *path));
  }
  if (!real || ::unlink(real.path.c_str()) != 0) return reply(550, failure(*path, real ? errno : real.error));
  cppd::log::info("deleted {}", *path);
  reply(250, fmt::format("{} deleted.", *path));
}

void FtpSession::cmdMkd(const std::string& arg) {
  const auto path = resolve(arg);
  if (!path || !mayWrite(550)) return;
  const Jail::Resolved real = config_->jail->entry(*path);
  if (!real || ::mkdir(real.path.c_str(), 0755) != 0) return reply(550, failure(*path, real ? errno : real.error));
  cppd::log::info("created directory {}", *path);
  reply(257, fmt::format("\"{}\" created.", *path));
}

void FtpSession::cmdRmd(const std::string& arg) {
  const auto path = resolve(arg);
  if (!path || !mayWrite(550)) return;
  const Jail::Resolved real = config_->jail->entry(*path);
  if (!real || ::rmdir(real.path.c_str()) != 0) return reply(550, failure(*path, real ? errno : real.error));
  if (cwd_ == *path || cwd_.rfind(*path + "/", 0) == 0) cwd_.assign(1, '/');
  cppd::log::info("removed directory {}", *path);
  reply(250, fmt::format("{} removed.", *path));
}

void FtpSession::cmdRnfr(const std::string& arg) {
  const auto path = resolve(arg);
  if (!path || !mayWrite(550)) return;
  const Jail::Resolved real = config_->jail->entry(*path);
  struct stat info {};
  if (!real || ::lstat(real.path.c_str(), &info) != 0) return reply(550, failure(*path, real ? errno : real.error));
  renameFrom_ = real.path;
  reply(350, "Ready for RNTO.");
}

void FtpSession::cmdRnto(const std::string& arg) {
  if (!renameFrom_) return reply(503, "Send RNFR first.");
  const std::string from = *renameFrom_;
  renameFrom_.reset();
  const auto path = resolve(arg);
  if (!path || !mayWrite(550)) return;
  const Jail::Resolved real = config_->jail->entry(*path);
  if (!real || ::rename(from.c_str(), real.path.c_str()) != 0) {
    return reply(553, failure(*path, real ? errno : real.error));
  }
  cppd::log::info("renamed {} to {}", from.substr(config_->jail->root().size()), *path);
  reply(250, "Rename successful.");
}

}  // namespace ftp
