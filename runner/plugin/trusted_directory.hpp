#pragma once

// A directory opened so that what is later read from it is exactly what was checked. The path is made
// canonical first; then every directory from / down is opened with openat(O_DIRECTORY | O_NOFOLLOW) on the
// descriptor of its parent and checked on the descriptor it got (ancestorTrustProblem, and
// directoryTrustProblem for the last). The caller keeps the last descriptor and opens files in it with openat,
// so no name is resolved twice: a directory swapped during the walk makes the walk or a check fail, never leads
// to an unchecked place.

#include <string>

#include <cppd/posix/unique_fd.hpp>

#include "plugin/plugin_trust.hpp"

namespace cppd::runner {

struct TrustedDirectory {
  std::string path;    // canonical (symbolic links resolved), as walked
  posix::UniqueFd fd;  // O_PATH descriptor of the checked directory
};

/// Walks to path and checks every directory on the way. Throws cppd::Error: noInput with the reason alone
/// ("No such file or directory", "not a directory") when it is missing; permission with the trust problem
/// ("its ancestor directory /srv/p is writable by everyone (mode 0777) and has no sticky bit, ...") when a
/// directory on the way is unsafe or was changed while it was being walked.
TrustedDirectory openTrustedDirectory(const std::string& path, const TrustPolicy& policy);

}  // namespace cppd::runner
