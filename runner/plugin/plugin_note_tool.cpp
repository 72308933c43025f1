// cppd-plugin-note PLUGIN [VERSION]: the build step of cppd_add_plugin that describes a just-built plugin.
// It loads the plugin, asks its service maker for tapname, description and options, copies its ABI stamp, and
// writes the note section (plugin_note.hpp) into PLUGIN: into the room cppd_add_plugin keeps for it in the
// first page, else at the end of the file (elf_note_writer.hpp). Running the plugin's code here, at build time,
// is what lets cppd list and check it without ever running it. The note is made from the same code the file
// carries, so it cannot disagree with it.

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/dll/shared_library.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include <cppd/error.hpp>
#include <cppd/plugin.hpp>
#include <cppd/posix/unique_fd.hpp>

#include "plugin/elf_note_writer.hpp"
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

std::string readFile(const std::string& path, struct stat& st) {
  cppd::posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    throw Error(ErrorKind::noInput, fmt::format("open {}: {}", path, std::strerror(errno)));
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw Error(ErrorKind::io, fmt::format("read {}: {}", path, n < 0 ? std::strerror(errno) : "it shrank"));
    }
    got += static_cast<std::size_t>(n);
  }
  return bytes;
}

// Replaces path with bytes through a new file renamed over it: the plugin this process has mapped keeps its
// inode, and an interrupted build leaves the old file or the new one, never half of each. The new file is
// read back as cppd will read it before it takes path's place.
void replaceFile(const std::string& path, const std::string& bytes, mode_t mode, const std::string& tapname) {
  const std::string temporary = path + ".cppd-note.tmp";
  cppd::posix::UniqueFd fd(::open(temporary.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777));
  if (!fd) throw Error(ErrorKind::cantCreate, fmt::format("create {}: {}", temporary, std::strerror(errno)));
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::unlink(temporary.c_str());
      throw Error(ErrorKind::io, fmt::format("write {}: {}", temporary, std::strerror(err)));
    }
    written += static_cast<std::size_t>(n);
  }
  try {
    if (cppd::runner::readPluginNote(fd.get()).tapname != tapname) {
      throw Error(ErrorKind::software, "the note read back from the written file differs from the one written");
    }
  } catch (const Error&) {
    ::unlink(temporary.c_str());
    throw;
  }
  if (::fchmod(fd.get(), mode & 07777) != 0 || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temporary.c_str());
    throw Error(ErrorKind::cantCreate, fmt::format("replace {}: {}", path, std::strerror(err)));
  }
}

int run(const std::string& plugin, const std::string& version) {
  try {
    const PluginNote note = describe(plugin, version);
    const std::string section = cppd::runner::encodePluginNote(note);
    cppd::runner::decodePluginNote(section);  // what cppd would refuse fails the build instead
    struct stat st {};
    std::string image = readFile(plugin, st);
    // In the room the plugin keeps for it (one read per listing), else at the end of the file (two).
    auto inRoom = cppd::runner::withNoteInRoom(image, cppd::runner::pluginNoteSection, section);
    image = inRoom ? std::move(*inRoom)
                   : cppd::runner::withNoteSection(std::move(image), cppd::runner::pluginNoteSection, section);
    replaceFile(plugin, image, st.st_mode, note.tapname);
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
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: cppd-plugin-note PLUGIN [VERSION]\n");
    return 64;
  }
  std::signal(SIGALRM, onDeadline);
  ::alarm(deadlineSeconds);
  // Lets test plugins that misbehave on purpose when loaded (crash, hang, throw) be built; cppd never sets it.
  ::setenv("CPPD_PLUGIN_NOTE_TOOL", "1", 1);
  return run(argv[1], argc == 3 ? argv[2] : "");
}
