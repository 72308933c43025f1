#include "plugin/plugin_loader.hpp"

#include <fmt/format.h>

#include <cppd/error.hpp>
#include <exception>

#include "plugin/abi_stamp.hpp"
#include "plugin/elf_header.hpp"
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

std::string tapnameProblem(const std::string& tapname) {
  if (tapname.empty()) return "its tapname is empty";
  for (char c : tapname) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return fmt::format("tapname '{}' has characters other than a-z, 0-9, '-' and '_'", tapname);
  }
  if (tapname.front() == '-') return fmt::format("tapname '{}' starts with '-'", tapname);
  return {};
}

LoadedPlugin loadPlugin(const PluginFile& file) {
  if (auto problem = elfProblem(file.fd())) fail(*problem);
  PluginLibrary library = PluginLibrary::open(file);
  const cppd_abi_stamp* stamp = library.stamp();
  ServiceMakerFactory* factory = library.factory();
  if (stamp == nullptr && factory == nullptr) {
    fail("not a cppd plugin: it exports no " CPPD_PLUGIN_STAMP_SYMBOL " and no " CPPD_PLUGIN_FACTORY_SYMBOL
         " (declare the maker with CPPD_PLUGIN(Maker))");
  }
  if (stamp == nullptr) fail("it exports no ABI stamp (" CPPD_PLUGIN_STAMP_SYMBOL "); rebuild it with CPPD_PLUGIN");
  if (auto problem = abiStampProblem(*stamp); !problem.empty()) fail(problem);
  if (factory == nullptr) fail("it exports no entry point (" CPPD_PLUGIN_FACTORY_SYMBOL "); use CPPD_PLUGIN(Maker)");

  LoadedPlugin plugin;
  plugin.path = file.path();
  plugin.maker = callFactory(factory);
  plugin.tapname = callText(plugin.maker, &IServiceMaker::tapname, "tapname");
  if (auto problem = tapnameProblem(plugin.tapname); !problem.empty()) fail(problem);
  plugin.description = callText(plugin.maker, &IServiceMaker::description, "description");
  return plugin;
}

}  // namespace cppd::runner
