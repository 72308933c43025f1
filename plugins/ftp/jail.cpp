#include "jail.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include <cppd/error.hpp>

namespace ftp {

std::optional<std::string> resolveVirtual(std::string_view cwd, std::string_view argument) {
  if (argument.find('\0') != std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> parts;
  auto walk = [&parts](std::string_view path) {
    while (!path.empty()) {
      const std::size_t slash = path.find('/');
      const std::string_view part = path.substr(0, slash);
      path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (!parts.empty()) parts.pop_back();
        continue;
      }
      parts.push_back(part);
    }
  };
  if (argument.empty() || argument.front() != '/') walk(cwd);
  walk(argument);
  std::string result;
  for (std::string_view part : parts) {
    result += '/';
    result += part;
  }
  return result.empty() ? "/" : result;
}

std::shared_ptr<const cppd::DirectoryJail> openServedRoot(const std::string& root) {
  int error = 0;
  std::optional<cppd::DirectoryJail> jail = cppd::DirectoryJail::tryOpen(root, error);
  if (!jail) {
    throw cppd::UsageError(fmt::format("--root {}: {}; give an existing directory to serve", root,
                                       error == ENOTDIR ? "not a directory" : std::strerror(error)));
  }
  return std::make_shared<const cppd::DirectoryJail>(std::move(*jail));
}

int clientError(int error) noexcept { return error == EXDEV || error == ELOOP ? ENOENT : error; }

cppd::posix::UniqueFd openEntryParent(const cppd::DirectoryJail& jail, const std::string& virtualPath, std::string& name,
                                      int& error) {
  cppd::posix::UniqueFd fd = jail.openParent(virtualPath, name, error);
  if (!fd) error = error == EINVAL ? EACCES : clientError(error);
  return fd;
}

}  // namespace ftp
