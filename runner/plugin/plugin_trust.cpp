#include "plugin/plugin_trust.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace cppd::runner {
namespace {

std::optional<std::string> modeProblem(const struct stat& st, const std::string& chmodTarget) {
  auto mode = static_cast<unsigned>(st.st_mode & 07777);
  if (st.st_mode & S_IWOTH) {
    return fmt::format("it is writable by everyone (mode {:04o}); fix with chmod o-w {}", mode, chmodTarget);
  }
  if (st.st_mode & S_IWGRP) {
    return fmt::format("it is writable by its group (mode {:04o}); fix with chmod g-w {}", mode, chmodTarget);
  }
  return std::nullopt;
}

// Root, the user cppd runs as and (when root through sudo) the invoking user: anyone else who owns a plugin file
// or a directory on its path could put their code there, to run with cppd's privileges, whoever cppd runs as.
std::optional<std::string> ownerProblem(const struct stat& st, const TrustPolicy& policy) {
  if (st.st_uid == 0 || st.st_uid == policy.euid) return std::nullopt;
  if (policy.euid != 0) {
    return fmt::format("it is owned by uid {}, not by root or the user cppd runs as (uid {})", st.st_uid,
                       policy.euid);
  }
  if (policy.invokingUid && st.st_uid == *policy.invokingUid) return std::nullopt;
  if (policy.invokingUid) {
    return fmt::format("cppd runs as root and it is owned by uid {}, not by root or the invoking user (uid {})",
                       st.st_uid, *policy.invokingUid);
  }
  return fmt::format("cppd runs as root and it is owned by uid {}, not by root", st.st_uid);
}

}  // namespace

TrustPolicy TrustPolicy::current() {
  TrustPolicy policy;
  policy.euid = ::geteuid();
  if (const char* sudoUid = std::getenv("SUDO_UID"); sudoUid != nullptr && *sudoUid != '\0') {
    errno = 0;
    char* end = nullptr;
    unsigned long value = std::strtoul(sudoUid, &end, 10);
    if (errno == 0 && *end == '\0' && value <= static_cast<unsigned long>(static_cast<uid_t>(-1) - 1)) {
      policy.invokingUid = static_cast<uid_t>(value);
    }
  }
  return policy;
}

std::optional<std::string> fileTrustProblem(const std::string& path, const struct stat& st, const TrustPolicy& policy) {
  if (auto problem = modeProblem(st, path)) return problem;
  return ownerProblem(st, policy);
}

std::optional<std::string> directoryTrustProblem(const std::string& path, const struct stat& st,
                                                 const TrustPolicy& policy) {
  if (auto problem = modeProblem(st, path)) return problem;
  return ownerProblem(st, policy);
}

std::optional<std::string> ancestorTrustProblem(const std::string& path, const struct stat& st,
                                                const TrustPolicy& policy) {
  // In a sticky directory only an entry's owner may rename or remove it, so others who may create entries
  // there still cannot swap ours (sudo and sshd's StrictModes accept /tmp the same way).
  const bool sticky = (st.st_mode & S_ISVTX) != 0;
  if (!sticky && (st.st_mode & (S_IWOTH | S_IWGRP)) != 0) {
    const bool everyone = (st.st_mode & S_IWOTH) != 0;
    return fmt::format(
        "its ancestor directory {} is writable by {} (mode {:04o}) and has no sticky bit, so another user could "
        "swap the directories below it; fix with chmod {}-w {} (or chmod +t {})",
        path, everyone ? "everyone" : "its group", static_cast<unsigned>(st.st_mode & 07777), everyone ? 'o' : 'g',
        path, path);
  }
  if (auto problem = ownerProblem(st, policy)) return fmt::format("its ancestor directory {}: {}", path, *problem);
  return std::nullopt;
}

}  // namespace cppd::runner
