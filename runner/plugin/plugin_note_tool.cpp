// cppd-plugin-note PLUGIN OUTPUT [VERSION]: the build step of cppd_add_plugin that describes a just-built plugin.
// It loads the plugin, asks its service maker for tapname, description and options, copies its ABI stamp, and
// writes the note section (plugin_note.hpp) to OUTPUT, which cppd_add_plugin then adds to the plugin with
// objcopy. Running the plugin's code here, at build time, is what lets cppd list and check it without ever
// running it. The note is made from the same code the file carries, so it cannot disagree with it.

#include <fmt/format.h>
#include <unistd.h>

#include <boost/dll/shared_library.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>

#include <cppd/error.hpp>
#include <cppd/plugin.hpp>

#include "plugin/plugin_note.hpp"

namespace {

using cppd::Error;
using cppd::ErrorKind;
using cppd::runner::PluginNote;

// A plugin that hangs while loading would hang the build: end it with a message instead.
constexpr unsigned deadlineSeconds = 120;

void onDeadline(int) {
  constexpr char message[] = "cppd-plugin-note: the plugin did not finish describing itself within 120 s\n";
  (void)!::write(STDERR_FILENO, message, sizeof message - 1);
  std::_Exit(70);
}

cppd_abi_stamp stampOf(const boost::dll::shared_library& library) {
  if (!library.has(CPPD_PLUGIN_STAMP_SYMBOL)) {
    throw Error(ErrorKind::data, "it exports no " CPPD_PLUGIN_STAMP_SYMBOL ": declare its maker with CPPD_PLUGIN(Maker)");
  }
  const auto& exported = library.get<const cppd_abi_stamp>(CPPD_PLUGIN_STAMP_SYMBOL);
  cppd_abi_stamp stamp{};
  std::memcpy(&stamp, &exported, 8);  // magic and size, which say how much more there is
  std::memcpy(&stamp, &exported, std::min<std::size_t>(std::max<std::uint32_t>(stamp.size, 8), sizeof stamp));
  return stamp;
}

PluginNote describe(const std::string& path, const std::string& version) {
  // Never unloaded (a static, so still reachable at exit): an exception thrown by the plugin's code is caught
  // after this function returns.
  static auto* const loaded = new boost::dll::shared_library();
  auto& library = *loaded;
  try {
    // Lazy binding: describing needs no more than the maker; a missing symbol is for cppd's RTLD_NOW to report.
    library.load(boost::dll::fs::path(path), boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local);
  } catch (const std::system_error& e) {
    throw Error(ErrorKind::software, fmt::format("cannot load: {}", e.what()));
  }
  PluginNote note;
  note.stamp = stampOf(library);
  if (!library.has(CPPD_PLUGIN_FACTORY_SYMBOL)) {
    throw Error(ErrorKind::data, "it exports no " CPPD_PLUGIN_FACTORY_SYMBOL ": use CPPD_PLUGIN(Maker)");
  }
  auto maker = library.get_alias<cppd::ServiceMakerFactory>(CPPD_PLUGIN_FACTORY_SYMBOL)();
  if (!maker) throw Error(ErrorKind::software, "its service-maker factory returned no service maker (nullptr)");
  note.tapname = maker->tapname();
  note.description = maker->description();
  note.version = version;
  note.options = maker->options();
  for (auto& spec : note.options) spec.validator = nullptr;
  return note;
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw Error(ErrorKind::cantCreate, fmt::format("write {}: {}", path, std::strerror(errno)));
}

int run(const std::string& plugin, const std::string& output, const std::string& version) {
  try {
    const std::string section = cppd::runner::encodePluginNote(describe(plugin, version));
    cppd::runner::decodePluginNote(section);  // what cppd would refuse fails the build instead
    writeFile(output, section);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "cppd-plugin-note: %s: %s\n", plugin.c_str(), e.what());
    return cppd::exitCodeFor(e.kind());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cppd-plugin-note: %s: describing the plugin failed: %s\n", plugin.c_str(), e.what());
    return 70;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: cppd-plugin-note PLUGIN OUTPUT [VERSION]\n");
    return 64;
  }
  std::signal(SIGALRM, onDeadline);
  ::alarm(deadlineSeconds);
  // Lets test plugins that misbehave on purpose when loaded (crash, hang, throw) be built; cppd never sets it.
  ::setenv("CPPD_PLUGIN_NOTE_TOOL", "1", 1);
  return run(argv[1], argv[2], argc == 4 ? argv[3] : "");
}
