#include "process/privileges.hpp"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <vector>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>

namespace cppd::runner {
namespace {

// A numeric uid or gid. 4294967295 is (uid_t)-1, which setresuid reads as "leave unchanged", and larger
// numbers would wrap (4294967296 to 0, root): both are refused rather than silently meaning something else.
std::optional<unsigned long> asNumber(const std::string& s, const char* option) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  constexpr unsigned long largest = 4294967294UL;
  if (s.size() > 10 || std::strtoul(s.c_str(), nullptr, 10) > largest) {
    throw UsageError(fmt::format("{} '{}' is out of range: ids go from 0 to {}", option, s, largest));
  }
  return std::strtoul(s.c_str(), nullptr, 10);
}

void check(int rc, const std::string& operation, unsigned long id) {
  if (rc != 0) {
    const int err = errno;
    throw Error(ErrorKind::permission,
                fmt::format("drop privileges: {}({}): {} (are you root?)", operation, id, std::strerror(err)));
  }
}

}  // namespace

ResolvedUser resolveUser(const std::string& nameOrNumber) {
  ResolvedUser user;
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (const auto number = asNumber(nameOrNumber, "--uid")) {
    user.uid = static_cast<uid_t>(*number);
    ::getpwuid_r(user.uid, &entry, buffer.data(), buffer.size(), &found);
  } else {
    ::getpwnam_r(nameOrNumber.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (!found) throw UsageError(fmt::format("unknown user '{}' (--uid): no such user in the passwd database",
                                             nameOrNumber));
    user.uid = found->pw_uid;
  }
  if (found) {
    user.name = found->pw_name;
    user.primaryGid = found->pw_gid;
  }
  return user;
}

gid_t resolveGroup(const std::string& nameOrNumber) {
  if (const auto number = asNumber(nameOrNumber, "--gid")) return static_cast<gid_t>(*number);
  std::vector<char> buffer(16384);
  group entry{};
  group* found = nullptr;
  ::getgrnam_r(nameOrNumber.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (!found) {
    throw UsageError(fmt::format("unknown group '{}' (--gid): no such group in the group database", nameOrNumber));
  }
  return found->gr_gid;
}

void dropPrivileges(const PrivilegeTarget& target, IProcessPrimitives& os) {
  if (!target.uid && !target.gid) return;
  uid_t ruid = 0, euid = 0, suid = 0;
  os.getresuid(&ruid, &euid, &suid);
  const uid_t current = target.effectiveOnly ? euid : ruid;
  if (target.gid) {
    if (target.effectiveOnly) check(os.setegid(*target.gid), "setegid", *target.gid);
    else check(os.setgid(*target.gid), "setgid", *target.gid);
  }
  const bool sameUid = target.uid && *target.uid == current;
  if (sameUid) {
    log::warn("tried to drop privileges and setuid {} but uid is already {}; should we be root? Continuing.",
              *target.uid, current);
  } else if (target.uid) {
    if (!target.effectiveOnly && target.gid) {
      if (!target.userName.empty()) {
        check(os.initgroups(target.userName.c_str(), *target.gid), "initgroups", *target.gid);
      } else {
        const gid_t only = *target.gid;
        check(os.setgroups(1, &only), "setgroups", only);
      }
    }
    if (target.effectiveOnly) check(os.seteuid(*target.uid), "seteuid", *target.uid);
    else check(os.setuid(*target.uid), "setuid", *target.uid);
  }
  // Verify: a drop that silently failed would leave a "nobody" service running as root.
  uid_t r = 0, e = 0, s = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  os.getresuid(&r, &e, &s);
  os.getresgid(&rg, &eg, &sg);
  if (target.uid && !sameUid) {
    const bool ok = target.effectiveOnly ? e == *target.uid : (r == *target.uid && e == r && s == r);
    if (!ok) {
      throw Error(ErrorKind::permission, fmt::format("drop privileges: uids are {}/{}/{} (real/effective/saved), "
                                                     "not {}: refusing to run", r, e, s, *target.uid));
    }
    if (!target.effectiveOnly && *target.uid != 0 && os.setuid(0) == 0) {
      throw Error(ErrorKind::permission, "drop privileges: setuid(0) still succeeds after the drop: refusing to run");
    }
  }
  if (target.gid) {
    const bool ok = target.effectiveOnly ? eg == *target.gid : (rg == *target.gid && eg == rg && sg == rg);
    if (!ok) {
      throw Error(ErrorKind::permission, fmt::format("drop privileges: gids are {}/{}/{} (real/effective/saved), "
                                                     "not {}: refusing to run", rg, eg, sg, *target.gid));
    }
  }
  log::info("set {}/{} {}/{}", target.effectiveOnly ? "euid" : "uid", target.effectiveOnly ? "egid" : "gid",
            target.uid ? std::to_string(*target.uid) : std::to_string(e),
            target.gid ? std::to_string(*target.gid) : std::to_string(eg));
}

}  // namespace cppd::runner
