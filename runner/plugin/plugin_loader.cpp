#include "plugin/plugin_loader.hpp"

#include <fmt/format.h>

#include <cppd/error.hpp>

#include "plugin/abi_stamp.hpp"
#include "plugin/plugin_call.hpp"
#include "plugin/plugin_library.hpp"

namespace cppd::runner {
namespace {

[[noreturn]] void fail(const std::string& reason) { throw Error(ErrorKind::software, reason); }

// Plugin code runs through callPlugin, whose messages are the reason only here: the caller names the file.
std::shared_ptr<IServiceMaker> callFactory(ServiceMakerFactory* factory) {
  auto maker = callPlugin("", "its service-maker factory", ErrorKind::software, [factory] { return factory(); });
  if (!maker) fail("its service-maker factory returned no service maker (nullptr)");
  return maker;
}

}  // namespace

LoadedPlugin loadPlugin(const PluginFile& file, const PluginNote& note) {
  if (auto problem = abiStampProblem(note.stamp); !problem.empty()) fail(problem);
  PluginLibrary library = PluginLibrary::open(file);
  ServiceMakerFactory* factory = library.factory();
  if (factory == nullptr) fail("it exports no entry point (" CPPD_PLUGIN_FACTORY_SYMBOL "); use CPPD_PLUGIN(Maker)");

  LoadedPlugin plugin;
  plugin.path = file.path();
  plugin.maker = callFactory(factory);
  plugin.tapname = callPlugin("", "tapname()", ErrorKind::software, [&] { return plugin.maker->tapname(); });
  // The note was made from this very code at build time; a difference means the file was edited since.
  if (plugin.tapname != note.tapname) {
    fail(fmt::format("its tapname is '{}' but its metadata note says '{}' (rebuild it with cppd_add_plugin)",
                     plugin.tapname, note.tapname));
  }
  plugin.description =
      callPlugin("", "description()", ErrorKind::software, [&] { return plugin.maker->description(); });
  plugin.noteOptions = note.options;
  plugin.version = note.version;
  return plugin;
}

}  // namespace cppd::runner
