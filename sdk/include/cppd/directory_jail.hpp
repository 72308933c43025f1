#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <cppd/export.hpp>
#include <cppd/posix/unique_fd.hpp>

namespace cppd {

/// A directory held open for a service's life, and the one way to reach names beneath it: what a plugin that
/// serves files to strangers (ftp, web) resolves every client-supplied name through.
///
/// Guarantees. Every lookup starts at the directory's descriptor, never at a path string, and is checked by the
/// kernel during that one lookup: openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS. So "..", absolute
/// symlinks, relative symlinks that climb out and /proc magic links all fail, and nothing can be swapped in
/// between a check and a use (a local user renaming a directory to a symlink to "/" gains nothing). Operations on
/// an entry itself (create, remove, rename, mkdir) use openParent() and then the *at call on the parent's
/// descriptor, so the last component is never followed unless the caller asks. Symlinks inside the directory
/// that stay inside it are followed.
///
/// Without openat2 (Linux before 5.6, or a seccomp filter that refuses it) the jail walks the name one component
/// at a time with openat(O_NOFOLLOW) from the root descriptor: just as safe, but then no symlink is followed at
/// all (ELOOP), not even one that stays inside. Which resolver is in use is fixed at construction.
///
/// Under --chroot. The directory is resolved when the jail is constructed (normally in makeService, on the host,
/// before the runner chroots) and stays usable afterwards through its descriptor, wherever the process's root is.
///
/// Names. A relative name is a '/'-separated path below the directory; leading and repeated '/' and "."
/// components are ignored, "" names the directory itself, and a ".." component is refused (ENOENT) rather than
/// interpreted: callers normalise names first (an FTP virtual path, an HTTP request path). A NUL byte ends a C
/// string, so a name containing one is refused (ENOENT) too.
///
/// Errors come back as errno values, never as exceptions, so a request path can answer cheaply: EXDEV when the
/// name leads out of the directory, ELOOP for a symlink that is not followed (magic links, O_NOFOLLOW on the last
/// component, every symlink in the component walk), EAGAIN when renames elsewhere in the tree kept the kernel
/// from completing the lookup after a few retries, ENOENT, ENOTDIR, EACCES and the like as open(2) gives them.
/// A server that must not let clients probe what exists outside answers EXDEV and ELOOP exactly as ENOENT.
///
/// Every descriptor returned is O_CLOEXEC and O_NOCTTY, and owned by the caller (a posix::UniqueFd). Open anything a client
/// names with O_NONBLOCK and fstat() the result before reading, so a FIFO or device cannot block the loop.
/// Immutable after construction; open() and openParent() are safe to call from any thread.
class CPPD_API DirectoryJail {
 public:
  /// How names are resolved: openat2 when the kernel has it (else the component walk), or always the walk
  /// (for tests of the fallback).
  enum class Resolver { automatic, componentWalk };

  /// Opens directory (symlinks in it followed, once, now). Throws cppd::Error "open directory DIR: <errno text>"
  /// (ENOTDIR when it is not a directory).
  explicit DirectoryJail(const std::string& directory, Resolver resolver = Resolver::automatic);

  /// As the constructor, but reports failure as an errno value in error instead of throwing (bad_alloc aside).
  static std::optional<DirectoryJail> tryOpen(const std::string& directory, int& error,
                                              Resolver resolver = Resolver::automatic);

  ~DirectoryJail();
  DirectoryJail(DirectoryJail&&) noexcept;
  DirectoryJail& operator=(DirectoryJail&&) noexcept;
  DirectoryJail(const DirectoryJail&) = delete;
  DirectoryJail& operator=(const DirectoryJail&) = delete;

  /// The directory's canonical path when it was opened, for messages only: after a chroot, or once someone
  /// renames it, it may name something else.
  const std::string& path() const noexcept;

  /// The directory's descriptor (O_DIRECTORY), valid for this object's life. Never close it yourself.
  int fd() const noexcept;

  /// True when the kernel's openat2 resolves names (symlinks inside are followed), false for the component walk.
  bool followsSymlinks() const noexcept;

  /// Opens relative beneath the directory with open(2) flags (O_RDONLY, O_PATH, O_DIRECTORY, O_NOFOLLOW,
  /// O_NONBLOCK...; O_CLOEXEC and O_NOCTTY are added). Do not pass O_CREAT: create through openParent(). Returns
  /// the descriptor, or none with the errno value in error.
  posix::UniqueFd open(std::string_view relative, int flags, int& error) const;

  /// Opens the directory that contains relative (O_PATH | O_DIRECTORY, resolved as open() does) and stores the
  /// last component in name, for the *at calls (openat with O_CREAT, unlinkat, mkdirat, renameat, fstatat).
  /// EINVAL when relative names the directory itself. Returns the descriptor, or none with error.
  posix::UniqueFd openParent(std::string_view relative, std::string& name, int& error) const;

  /// True when relative names a directory beneath this one, symlinks resolved as open() does (O_PATH: nothing
  /// is opened for reading, so a device or FIFO has no side effect). A name that leads out answers false, as a
  /// missing one does.
  bool isDirectory(std::string_view relative) const;

 private:
  struct Impl;
  explicit DirectoryJail(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cppd
