#pragma once

// Loading the one plugin that is started, with every check in the order that keeps bad plugins harmless: its
// note's ABI stamp (read from the file, before any of its code can run), dlopen (RTLD_NOW, so a missing symbol
// is dlerror's message), entry point, factory call, tapname as the note said. Each failure is a cppd::Error
// whose message is the reason only ("built for cppd SDK ABI 1, this cppd provides 2"); callers add the path.

#include <cppd/service_maker.hpp>
#include <memory>
#include <string>
#include <vector>

#include "plugin/plugin_file.hpp"
#include "plugin/plugin_note.hpp"

namespace cppd::runner {

struct LoadedPlugin {
  std::string path;
  std::shared_ptr<IServiceMaker> maker;  // code in the plugin, which stays loaded for the process lifetime
  std::string tapname;
  std::string description;
  std::vector<OptionSpec> noteOptions;  // the options its metadata note declares (listing and --help used these)
  std::string version;                  // its own version, from the note (cppd_add_plugin VERSION); may be empty
};

/// Loads the checked plugin file (by its descriptor) whose note was read from that descriptor, and creates
/// its service maker. Throws cppd::Error with the reason when any check fails (software) or plugin code throws
/// (callPlugin: a cppd::Error keeps its kind, anything else is software; caught while the plugin is loaded).
LoadedPlugin loadPlugin(const PluginFile& file, const PluginNote& note);

}  // namespace cppd::runner
