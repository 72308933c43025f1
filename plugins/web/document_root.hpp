#pragma once

#include <string>

#include <cppd/directory_jail.hpp>

namespace web {

/// The served directory, held open, and the one way to open names beneath it: a cppd::DirectoryJail (see its
/// contract: every lookup is made beneath the root's descriptor by the kernel, so nothing can be swapped between
/// a check and the open; without openat2 no symlink is followed at all).
///
/// Thread-safe after construction (open() only reads).
class DocumentRoot {
 public:
  /// Opens directory. Throws cppd::Error "open document root DIR: <errno text>", or "... Not a directory".
  explicit DocumentRoot(const std::string& directory);

  /// Opens relative ("" is the root itself; no leading '/'; already free of ".." segments) read-only and
  /// non-blocking. Returns the descriptor, or -1 with the errno in error: EXDEV or ELOOP when the name leads out
  /// of the root, ENOENT/ENOTDIR when it does not exist.
  int open(const std::string& relative, int& error) const;

  /// True when relative names a directory beneath the root, symlinks resolved within it (O_PATH: nothing is
  /// opened for reading, so a device or FIFO has no side effect). A name that leads out answers false, exactly as
  /// a missing one does.
  bool isDirectory(const std::string& relative) const;

  /// The canonical path of the root.
  const std::string& path() const noexcept { return jail_.path(); }

 private:
  cppd::DirectoryJail jail_;
};

}  // namespace web
