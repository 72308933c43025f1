#include "plugin/plugin_loader.hpp"

#include <fmt/format.h>

#include <cppd/error.hpp>
#include <exception>

#include "plugin/abi_stamp.hpp"
#include "plugin/plugin_library.hpp"

namespace cppd::runner {
namespace {

[[noreturn]] void fail(const std::string& reason) { throw Error(ErrorKind::software, reason); }

std::shared_ptr<IServiceMaker> callFactory(ServiceMakerFactory* factory) {
  std::shared_ptr<IServiceMaker> maker;
  try {
    maker = factory();
  } catch (const std::exception& e) {
    fail(fmt::format("its service-maker factory threw: {}", e.what()));
  } catch (...) {
    fail("its service-maker factory threw an exception not derived from std::exception");
  }
  if (!maker) fail("its service-maker factory returned no service maker (nullptr)");
  return maker;
}

std::string callText(const std::shared_ptr<IServiceMaker>& maker, std::string (IServiceMaker::*method)() const,
                     const char* name) {
  try {
    return ((*maker).*method)();
  } catch (const std::exception& e) {
    fail(fmt::format("{}() threw: {}", name, e.what()));
  } catch (...) {
    fail(fmt::format("{}() threw an exception not derived from std::exception", name));
  }
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
  plugin.tapname = callText(plugin.maker, &IServiceMaker::tapname, "tapname");
  // The note was made from this very code at build time; a difference means the file was edited since.
  if (plugin.tapname != note.tapname) {
    fail(fmt::format("its tapname is '{}' but its metadata note says '{}' (rebuild it with cppd_add_plugin)",
                     plugin.tapname, note.tapname));
  }
  plugin.description = callText(plugin.maker, &IServiceMaker::description, "description");
  plugin.noteOptions = note.options;
  plugin.version = note.version;
  return plugin;
}

}  // namespace cppd::runner
