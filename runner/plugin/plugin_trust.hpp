#pragma once

// Which plugin files and directories cppd is willing to load from, following sudo's rules for its plugins and
// sshd's StrictModes: a file, the plugin directory, or any directory above it up to / that others can write to
// could have its contents replaced by someone else's code, and cppd often runs as root.

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>

namespace cppd::runner {

/// Who may own plugin files and the directories above them: root or the user the process runs as (euid), and
/// when it runs as root through sudo also the invoking user (SUDO_UID). Another owner could replace them.
struct TrustPolicy {
  uid_t euid = 0;
  std::optional<uid_t> invokingUid;

  /// The policy of the running process: geteuid(), and SUDO_UID when it parses as a uid.
  static TrustPolicy current();
};

/// Why a plugin file with status st must be refused ("it is writable by its group (mode 0664); remove that
/// with chmod g-w"), or nullopt. Not checked for being a regular file: the caller filters that.
std::optional<std::string> fileTrustProblem(const std::string& path, const struct stat& st, const TrustPolicy& policy);

/// The same rules for the plugin directory itself (mode, and owner when root); sticky directories are not
/// exempt: a world-writable /tmp is not a place to load plugins from.
std::optional<std::string> directoryTrustProblem(const std::string& path, const struct stat& st,
                                                 const TrustPolicy& policy);

/// The rule for every directory above the plugin directory, up to /: not writable by group or others unless
/// it is sticky (as /tmp), and owned as directoryTrustProblem requires. The reason names the directory.
std::optional<std::string> ancestorTrustProblem(const std::string& path, const struct stat& st,
                                                const TrustPolicy& policy);

}  // namespace cppd::runner
