#pragma once

#include <string>

#include <cppd/multi_service.hpp>

namespace cppd {

/// The root of a running service tree (Twisted's Application): the MultiService the runner builds, named after
/// the plugin (or "cppd" for a deployment file), with every service a plugin made as its child.
///
/// Twisted's Application also carries IProcess settings (uid, gid, processName) that twistd applies when the
/// command line does not give them; only a .tac file can set them, since for a plugin twistd makes
/// Application(tapname) itself. cppd has no .tac: a plugin returns a service and the runner makes the
/// Application, so those settings come from the command line or the deployment file (-u/--uid, -g/--gid).
class CPPD_API Application : public MultiService {
 public:
  explicit Application(std::string name);
  ~Application() override;
};

}  // namespace cppd
