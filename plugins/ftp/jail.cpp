#include "jail.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include <cppd/error.hpp>

namespace ftp {
namespace {

// realpath(3) into a string; the errno value on failure.
Jail::Resolved canonical(const std::string& path) {
  char buffer[PATH_MAX];
  if (::realpath(path.c_str(), buffer) == nullptr) return {{}, errno};
  return {buffer, 0};
}

}  // namespace

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

Jail::Jail(const std::string& root) {
  const Resolved real = canonical(root);
  if (!real) {
    throw cppd::UsageError(fmt::format("--root {}: {}; give an existing directory to serve", root,
                                       std::strerror(real.error)));
  }
  struct stat info {};
  if (::stat(real.path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    throw cppd::UsageError(fmt::format("--root {}: not a directory; give an existing directory to serve", root));
  }
  root_ = real.path;
}

bool Jail::contains(std::string_view real) const noexcept {
  if (root_ == "/") return !real.empty() && real.front() == '/';
  return real == root_ || (real.size() > root_.size() && real.substr(0, root_.size()) == root_ && real[root_.size()] == '/');
}

Jail::Resolved Jail::existing(const std::string& virtualPath) const {
  Resolved real = canonical(root_ + virtualPath);
  if (!real) return real;
  if (!contains(real.path)) return {{}, EACCES};
  return real;
}

Jail::Resolved Jail::entry(const std::string& virtualPath) const {
  const std::size_t slash = virtualPath.rfind('/');
  const std::string name = virtualPath.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return {{}, EACCES};
  const std::string parent = slash == 0 ? "/" : virtualPath.substr(0, slash);
  Resolved real = existing(parent);
  if (!real) return real;
  real.path += (real.path == "/" ? "" : "/") + name;
  return real;
}

}  // namespace ftp
