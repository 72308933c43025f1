#pragma once

// One loaded plugin file (Boost.DLL shared_library), opened with RTLD_NOW so an unresolved symbol is reported at
// load time with dlerror's text, and never unloaded: every opened library is also kept in a process-lifetime
// registry, so objects, deleters and exceptions coming from the plugin stay valid until the process exits.

#include <boost/dll/shared_library.hpp>
#include <cppd/plugin.hpp>
#include <string>

#include "plugin/plugin_file.hpp"

namespace cppd::runner {

class PluginLibrary {
 public:
  /// Loads exactly the checked file (through its descriptor, never its path).
  /// Throws cppd::Error (software) "cannot load: <dlerror text>" (the path itself is left out; callers add it).
  static PluginLibrary open(const PluginFile& file);

  const std::string& path() const noexcept { return path_; }

  /// The plugin's ABI stamp, or nullptr when it exports none (not built with CPPD_PLUGIN).
  const cppd_abi_stamp* stamp() const;

  /// The plugin's service-maker factory, or nullptr when it exports none.
  ServiceMakerFactory* factory() const;

 private:
  PluginLibrary(std::string path, boost::dll::shared_library library);

  std::string path_;
  boost::dll::shared_library library_;
};

/// How many libraries the process-lifetime registry holds (for tests).
std::size_t keptPluginLibraryCount();

}  // namespace cppd::runner
