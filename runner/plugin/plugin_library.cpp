#include "plugin/plugin_library.hpp"

#include <fmt/format.h>

#include <cppd/error.hpp>
#include <system_error>
#include <utility>
#include <vector>

namespace cppd::runner {
namespace {

// Never destroyed (deliberately leaked), so no plugin is dlclose'd even while static destructors run at exit:
// a maker or service still referenced from a static, or an exception in flight, keeps working.
std::vector<boost::dll::shared_library>& keptLibraries() {
  static auto* libraries = new std::vector<boost::dll::shared_library>();
  return *libraries;
}

// Boost.DLL 1.74 formats "<call> failed (dlerror system message: <text>): <errno text>"; the dlerror text is the
// useful part, and it starts with the path, which callers print themselves.
std::string dlerrorText(const std::string& what, const std::string& path) {
  const std::string marker = "(dlerror system message: ";
  auto start = what.find(marker);
  if (start == std::string::npos) return what;
  start += marker.size();
  auto end = what.rfind("): ");
  if (end == std::string::npos || end < start) end = what.size();
  std::string text = what.substr(start, end - start);
  if (text.rfind(path + ": ", 0) == 0) text.erase(0, path.size() + 2);
  return text;
}

}  // namespace

PluginLibrary::PluginLibrary(std::string path, boost::dll::shared_library library)
    : path_(std::move(path)), library_(std::move(library)) {}

PluginLibrary PluginLibrary::open(const PluginFile& file) {
  // The file is loaded through /proc/self/fd/N of the descriptor that was checked: dlopen opens that magic link,
  // which names the checked file itself, so renaming or swapping its path meanwhile changes nothing. (Boost.DLL
  // hands an absolute path to dlopen unchanged.)
  const std::string loadPath = file.loadPath();
  boost::dll::shared_library library;
  try {
    library.load(boost::dll::fs::path(loadPath),
                 boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::system_error& e) {
    throw Error(ErrorKind::software, fmt::format("cannot load: {}", dlerrorText(e.what(), loadPath)));
  }
  keptLibraries().push_back(library);
  return PluginLibrary(file.path(), std::move(library));
}

const cppd_abi_stamp* PluginLibrary::stamp() const {
  if (!library_.has(CPPD_PLUGIN_STAMP_SYMBOL)) return nullptr;
  return &library_.get<const cppd_abi_stamp>(CPPD_PLUGIN_STAMP_SYMBOL);
}

ServiceMakerFactory* PluginLibrary::factory() const {
  if (!library_.has(CPPD_PLUGIN_FACTORY_SYMBOL)) return nullptr;
  return &library_.get_alias<ServiceMakerFactory>(CPPD_PLUGIN_FACTORY_SYMBOL);
}

std::size_t keptPluginLibraryCount() { return keptLibraries().size(); }

}  // namespace cppd::runner
