#pragma once

// Loading one plugin file in this process, with every check in the order that keeps bad plugins harmless:
// ELF header, dlopen (RTLD_NOW), ABI stamp, entry point, factory call, tapname. Each failure is a cppd::Error
// whose message is the reason only ("built for cppd SDK ABI 1, this cppd provides 2"); callers add the path.

#include <cppd/service_maker.hpp>
#include <memory>
#include <string>

#include "plugin/plugin_file.hpp"

namespace cppd::runner {

struct LoadedPlugin {
  std::string path;
  std::shared_ptr<IServiceMaker> maker;  // code in the plugin, which stays loaded for the process lifetime
  std::string tapname;
  std::string description;
};

/// Loads the checked plugin file (by its descriptor) and creates its service maker. Throws cppd::Error (software) with the
/// reason when any check fails or plugin code throws (the exception is caught while the plugin is loaded).
LoadedPlugin loadPlugin(const PluginFile& file);

/// Why tapname cannot be a command ("tapname 'Hello World' has characters other than a-z, 0-9, '-' and '_'"),
/// or an empty string when it is fine.
std::string tapnameProblem(const std::string& tapname);

}  // namespace cppd::runner
