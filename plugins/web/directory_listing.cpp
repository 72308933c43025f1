#include "directory_listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <cppd/posix/unique_fd.hpp>

namespace web {

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string percentEncodeSegment(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                            (byte >= '0' && byte <= '9') || byte == '-' || byte == '.' || byte == '_' || byte == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
  return out;
}

bool renderListing(int dirFd, std::string_view title, const SymlinkIsDirectory& symlinkIsDirectory,
                   std::string& html) {
  cppd::posix::UniqueFd fd(::fcntl(dirFd, F_DUPFD_CLOEXEC, 0));  // closedir closes its own descriptor
  if (!fd) return false;
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return false;
  fd.release();  // the DIR stream owns it now
  ::rewinddir(dir);
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat info {};
    if (::fstatat(dirFd, entry->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
    const bool isDir = S_ISLNK(info.st_mode) ? symlinkIsDirectory(std::string(name)) : S_ISDIR(info.st_mode);
    names.push_back(std::string(name) + (isDir ? "/" : ""));
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  const std::string escapedTitle = htmlEscape(title);
  html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of " + escapedTitle +
         "</title></head>\n<body><h1>Index of " + escapedTitle + "</h1>\n<ul>\n";
  if (title != "/") html += "<li><a href=\"../\">../</a></li>\n";
  for (const std::string& name : names) {
    const bool isDir = name.back() == '/';
    const std::string_view bare = isDir ? std::string_view(name).substr(0, name.size() - 1) : std::string_view(name);
    html += "<li><a href=\"" + percentEncodeSegment(bare) + (isDir ? "/" : "") + "\">" + htmlEscape(name) +
            "</a></li>\n";
  }
  html += "</ul>\n</body></html>\n";
  return true;
}

}  // namespace web
