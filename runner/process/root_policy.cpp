#include "process/root_policy.hpp"

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>

namespace cppd::runner {

bool servesAsRoot(const PrivilegeTarget& target, IProcessPrimitives& os) {
  return os.geteuid() == 0 && (!target.uid || *target.uid == 0);
}

void refuseRootFileServers(const ServerOptions& options, const PrivilegeTarget& target,
                           const std::vector<std::string>& fileServers, IProcessPrimitives& os) {
  // An explicit --uid (even -u root) or --allow-root is the operator's choice; only the silent default is refused.
  if (fileServers.empty() || options.allowRoot || target.uid || !servesAsRoot(target, os)) return;
  std::string names;
  for (const auto& name : fileServers) names += (names.empty() ? "" : ", ") + name;
  throw Error(ErrorKind::permission,
              fmt::format("refusing to run {} as root: {} files to {} clients, which could then read every "
                          "root-only file on this host. Give -u USER (e.g. -u nobody) to serve as that user once "
                          "the ports are bound, or --allow-root (allow-root = true in a deployment file's [cppd]) "
                          "if root is really meant",
                          names, fileServers.size() == 1 ? "it serves" : "they serve",
                          fileServers.size() == 1 ? "its" : "their"));
}

void warnIfServingAsRoot(const PrivilegeTarget& target, IProcessPrimitives& os) {
  if (!servesAsRoot(target, os)) return;
  if (target.uid) {
    log::warn("running as root (--uid 0): the services can read and change every file on this host.");
    return;
  }
  log::warn("running as root: no --uid was given, so the services keep root's access to every file on this host; "
            "give -u USER (e.g. -u nobody) to drop privileges once the ports are bound.");
}

}  // namespace cppd::runner
