#include "listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>
#include <utility>

#include <fmt/format.h>

namespace ftp {
namespace {

constexpr std::time_t kSixMonths = 182 * 24 * 3600;

std::string modeString(mode_t mode) {
  std::string text = S_ISDIR(mode) ? "d" : "-";
  const std::array<char, 3> letters{'r', 'w', 'x'};
  for (int shift = 6; shift >= 0; shift -= 3) {
    for (int bit = 0; bit < 3; ++bit) text += (mode >> (shift + 2 - bit)) & 1 ? letters[bit] : '-';
  }
  return text;
}

}  // namespace

namespace {

// Examines the next directory entry into entry (an empty name: left out); false at the end.
bool nextEntry(const cppd::DirectoryJail& jail, const std::string& virtualDir, DIR* dir, ListEntry& entry) {
  entry.name.clear();
  const dirent* item = ::readdir(dir);
  if (item == nullptr) return false;
  const std::string_view name = item->d_name;
  if (name == "." || name == ".." || !sendableName(name)) return true;
  if (::fstatat(::dirfd(dir), item->d_name, &entry.info, AT_SYMLINK_NOFOLLOW) != 0) return true;
  if (S_ISLNK(entry.info.st_mode)) {
    int ignored = 0;
    const cppd::posix::UniqueFd target = jail.open(virtualDir + "/" + item->d_name, O_PATH, ignored);
    if (!target || ::fstat(target.get(), &entry.info) != 0) return true;
  }
  entry.name = name;
  return true;
}

}  // namespace

EntrySource readDirectory(std::shared_ptr<const cppd::DirectoryJail> jail, std::string virtualDir, int dirFd,
                          int& error) {
  error = 0;
  cppd::posix::UniqueFd own(::fcntl(dirFd, F_DUPFD_CLOEXEC, 0));  // fdopendir takes the descriptor it is given
  std::shared_ptr<DIR> handle(own ? ::fdopendir(own.get()) : nullptr, [](DIR* dir) {
    if (dir != nullptr) ::closedir(dir);
  });
  if (!handle) {
    error = errno;
    return nullptr;
  }
  own.release();  // the DIR stream owns it now
  return [jail = std::move(jail), virtualDir = std::move(virtualDir), handle](ListEntry& entry) {
    return nextEntry(*jail, virtualDir, handle.get(), entry);
  };
}

EntrySource oneEntry(ListEntry entry) {
  return [entry = std::move(entry), given = false](ListEntry& out) mutable {
    if (std::exchange(given, true)) return false;
    out = entry;
    return true;
  };
}

bool sendableName(std::string_view name) noexcept { return name.find_first_of("\r\n") == std::string_view::npos; }

std::string quotedPath(std::string_view path) {
  std::string text = "\"";
  for (char c : path) text += c == '"' ? std::string("\"\"") : std::string(1, c);
  return text + "\"";
}

std::string listLine(const ListEntry& entry, std::time_t now) {
  const std::time_t mtime = entry.info.st_mtime;
  std::tm local{};
  ::localtime_r(&mtime, &local);
  char date[32];
  const bool recent = mtime <= now && now - mtime < kSixMonths;
  std::strftime(date, sizeof date, recent ? "%b %d %H:%M" : "%b %d  %Y", &local);
  return fmt::format("{} {:>3} ftp      ftp      {:>13} {} {}", modeString(entry.info.st_mode), entry.info.st_nlink,
                     static_cast<long long>(entry.info.st_size), date, entry.name);
}

std::string mlsxLine(const ListEntry& entry, bool writable) {
  const bool dir = S_ISDIR(entry.info.st_mode);
  std::string perm = dir ? "el" : "r";
  if (writable) perm += dir ? "cmpfd" : "adfw";
  std::string size = dir ? "" : fmt::format("size={};", static_cast<long long>(entry.info.st_size));
  return fmt::format("type={};{}modify={};perm={};unix.mode=0{:o}; {}", dir ? "dir" : "file", size,
                     timeVal(entry.info.st_mtime), perm, entry.info.st_mode & 07777, entry.name);
}

std::string timeVal(std::time_t time) {
  std::tm utc{};
  ::gmtime_r(&time, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d%H%M%S", &utc);
  return text;
}

}  // namespace ftp
