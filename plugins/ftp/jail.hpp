#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ftp {

/// The virtual path a client means by argument, typed while in the virtual directory cwd: absolute arguments
/// start at the virtual root "/", "." and empty components vanish, ".." goes up but never above "/". The result
/// is absolute and normalised ("/a/b"). nullopt when argument holds a NUL byte. Pure string arithmetic.
std::optional<std::string> resolveVirtual(std::string_view cwd, std::string_view argument);

/// The served directory, and the only way a session turns a virtual path into a real one. Every real path it
/// returns has been canonicalised (realpath: no symlink, "." or ".." left) and checked to lie inside the root, so
/// neither "..", absolute paths, symlinks pointing outside nor NUL bytes reach a file elsewhere. Immutable;
/// safe to share.
///
/// A symlink swapped in between the check and the use by someone with write access to the tree could still
/// race it; files are opened with O_NOFOLLOW on the canonical path to narrow that window.
class Jail {
 public:
  /// The outcome of a resolution: the real path, or an errno value (ENOENT, EACCES for "outside the root").
  struct Resolved {
    std::string path;
    int error = 0;
    explicit operator bool() const noexcept { return error == 0; }
  };

  /// root must be an existing directory. Throws cppd::UsageError naming it when it is not.
  explicit Jail(const std::string& root);

  /// The canonical root.
  const std::string& root() const noexcept { return root_; }

  /// An existing entry, symlinks followed (for reading, listing, changing directory).
  Resolved existing(const std::string& virtualPath) const;

  /// An entry to create, remove or rename: its parent canonicalised, the last component kept as it is (not
  /// followed, so DELE of a symlink removes the link). EACCES for the root itself.
  Resolved entry(const std::string& virtualPath) const;

  /// True when real (a canonical path) is the root or inside it.
  bool contains(std::string_view real) const noexcept;

 private:
  std::string root_;
};

}  // namespace ftp
