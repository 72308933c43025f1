#pragma once

// Running as root: said at start, and refused for plugins that serve the host's files to strangers unless the
// operator chose it. Started by root without -u, cppd keeps root for the whole run (twistd does the same), so an
// anonymous FTP or HTTP client could read a root-only 0600 file.

#include <string>
#include <vector>

#include "process/privileges.hpp"
#include "process/process_primitives.hpp"
#include "options/server_options.hpp"

namespace cppd::runner {

/// True when the services will run as root: the process is root and target keeps (or asks for) uid 0.
bool servesAsRoot(const PrivilegeTarget& target, IProcessPrimitives& os);

/// Throws cppd::Error (permission, exit 77) when the services would run as root with no --uid given, no
/// --allow-root, and fileServers (the plugins whose IServiceMaker::servesFiles() is true, as "ftp" or "ftp
/// (service 'anon')") is not empty. The message names them and both ways out. Call it before anything binds.
void refuseRootFileServers(const ServerOptions& options, const PrivilegeTarget& target,
                           const std::vector<std::string>& fileServers, IProcessPrimitives& os);

/// Logs a warning when the services will run as root, saying why and how to avoid it.
void warnIfServingAsRoot(const PrivilegeTarget& target, IProcessPrimitives& os);

}  // namespace cppd::runner
