#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <cppd/directory_jail.hpp>

namespace ftp {

/// The virtual path a client means by argument, typed while in the virtual directory cwd: absolute arguments
/// start at the virtual root "/", "." and empty components vanish, ".." goes up but never above "/". The result
/// is absolute and normalised ("/a/b"). nullopt when argument holds a NUL byte. Pure string arithmetic.
std::optional<std::string> resolveVirtual(std::string_view cwd, std::string_view argument);

/// The served directory (--root), held open for the service's life: every session reaches files only through
/// it (cppd::DirectoryJail: resolved beneath its descriptor, so symlink races cannot lead outside, and it keeps
/// working after --chroot). Throws cppd::UsageError "--root DIR: <why>; give an existing directory to serve".
std::shared_ptr<const cppd::DirectoryJail> openServedRoot(const std::string& root);

/// The errno value a client is told: a name that leads out of the root (EXDEV) or a symlink that is not followed
/// (ELOOP) is answered exactly as a missing file (ENOENT), so nobody can probe what exists outside the root.
int clientError(int error) noexcept;

/// The directory containing virtualPath, opened beneath the jail (for the *at calls), with the last component in
/// name; none and a clientError() value in error (EACCES for the root itself, which is never created or removed).
cppd::posix::UniqueFd openEntryParent(const cppd::DirectoryJail& jail, const std::string& virtualPath, std::string& name,
                                      int& error);

}  // namespace ftp
