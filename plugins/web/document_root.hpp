#pragma once

#include <string>

namespace web {

/// The served directory, held open, and the one way to open names beneath it (the jail).
///
/// open() resolves a relative name with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from the root's
/// descriptor: "..", absolute symlinks and relative symlinks that climb out of the root all fail with EXDEV,
/// and the check is made by the kernel during the one lookup, so nothing can be swapped between a check and
/// the open. Where openat2 is unavailable (kernels before 5.6, or a seccomp filter), it falls back to
/// realpath() compared with the canonical root, then open(O_NOFOLLOW) of the canonical name; that leaves a
/// window in which a directory could be replaced by a symlink, which is why openat2 is preferred.
///
/// Thread-safe after construction (open() only reads).
class DocumentRoot {
 public:
  /// Opens directory. Throws cppd::Error "open document root DIR: <errno text>", or "... Not a directory".
  explicit DocumentRoot(const std::string& directory);
  ~DocumentRoot();
  DocumentRoot(const DocumentRoot&) = delete;
  DocumentRoot& operator=(const DocumentRoot&) = delete;

  /// Opens relative ("" is the root itself; no leading '/'; already free of ".." segments) read-only and
  /// non-blocking. Returns the descriptor, or -1 with the errno in error: EXDEV or ELOOP when the name leads out
  /// of the root, ENOENT/ENOTDIR when it does not exist.
  int open(const std::string& relative, int& error) const;

  /// The canonical path of the root.
  const std::string& path() const noexcept { return canonical_; }

 private:
  int openFallback(const std::string& relative, int& error) const;

  int rootFd_ = -1;
  std::string canonical_;
  mutable bool openat2Works_ = true;
};

}  // namespace web
