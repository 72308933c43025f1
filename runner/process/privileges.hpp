#pragma once

// Resolving users and groups, and shedding root after privilegedStartService (twistd's shedPrivileges,
// with the drop verified).

#include <sys/types.h>

#include <optional>
#include <string>

#include "process/process_primitives.hpp"

namespace cppd::runner {

struct ResolvedUser {
  uid_t uid = 0;
  std::string name;                 // the passwd name; empty for a number with no passwd entry
  std::optional<gid_t> primaryGid;  // from passwd; empty when there is no entry
};

/// A user name or a decimal uid. Throws cppd::UsageError("unknown user 'bob' (--uid)") for an unknown name.
ResolvedUser resolveUser(const std::string& nameOrNumber);

/// A group name or a decimal gid. Throws cppd::UsageError("unknown group 'x' (--gid)") for an unknown name.
gid_t resolveGroup(const std::string& nameOrNumber);

/// What to switch to.
struct PrivilegeTarget {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::string userName;  // for initgroups; empty: supplementary groups become just gid
  bool effectiveOnly = false;  // --euid
};

/// Switches to target: setgid (setegid), then initgroups (real drop only), then setuid (seteuid), and verifies:
/// after a real drop every one of real/effective/saved uid and gid equals the target and setuid(0) fails.
/// Logs "set uid/gid U/G" (or "set euid/egid U/G"), or the twistd warning "tried to drop privileges and setuid
/// N but uid is already N; should we be root? Continuing." when the uid is already the target. Nothing happens
/// without uid and gid. Throws cppd::Error (permission) naming the call and the ids when a step fails or the
/// drop cannot be verified; the caller must then refuse to run.
void dropPrivileges(const PrivilegeTarget& target, IProcessPrimitives& os = systemPrimitives());

}  // namespace cppd::runner
