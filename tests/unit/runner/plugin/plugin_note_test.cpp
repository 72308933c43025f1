#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cppd/error.hpp>
#include <cppd/plugin.hpp>
#include <cppd/posix/unique_fd.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "plugin/abi_stamp.hpp"
#include "plugin/plugin_note.hpp"

namespace fs = std::filesystem;
using cppd::runner::decodePluginNote;
using cppd::runner::encodePluginNote;
using cppd::runner::PluginNote;
using cppd::runner::readPluginNote;

namespace {

PluginNote sampleNote() {
  PluginNote note;
  note.stamp = cppd::runner::hostAbiStamp();
  note.tapname = "hello";
  note.description = "Says hello.";
  note.version = "1.2.3";
  note.options.push_back({"port", "p", "Where to listen.", "8080", cppd::OptionKind::port, false, {}});
  note.options.push_back({"root", "", "What to serve.", "", cppd::OptionKind::path, true, {}});
  return note;
}

PluginNote noteOfFile(const std::string& path) {
  cppd::posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd);
  return readPluginNote(fd.get());
}

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void requireSameOptions(const std::vector<cppd::OptionSpec>& noted, const std::vector<cppd::OptionSpec>& live) {
  REQUIRE(noted.size() == live.size());
  for (std::size_t i = 0; i < live.size(); ++i) {
    CHECK(noted[i].longName == live[i].longName);
    CHECK(noted[i].shortName == live[i].shortName);
    CHECK(noted[i].help == live[i].help);
    CHECK(noted[i].defaultValue == live[i].defaultValue);
    CHECK(noted[i].kind == live[i].kind);
    CHECK(noted[i].required == live[i].required);
  }
}

// Every plugin cppd_add_plugin built: the bundled ones and the test plugins (no_entry is not a cppd plugin).
std::vector<std::string> builtPlugins() {
  std::vector<std::string> paths;
  for (const char* dir : {CPPD_BUILD_PLUGIN_DIR, CPPD_TEST_PLUGIN_DIR}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".so" && entry.path().filename() != "no_entry.so") {
        paths.push_back(entry.path().string());
      }
    }
  }
  return paths;
}

}  // namespace

TEST_CASE("A note survives encoding and decoding", "[plugin][note]") {
  PluginNote decoded = decodePluginNote(encodePluginNote(sampleNote()));
  CHECK(decoded.tapname == "hello");
  CHECK(decoded.description == "Says hello.");
  CHECK(decoded.version == "1.2.3");
  CHECK(std::memcmp(&decoded.stamp, &cppd::runner::hostAbiStamp(), sizeof decoded.stamp) == 0);
  requireSameOptions(decoded.options, sampleNote().options);
}

TEST_CASE("Every built plugin's note equals what the loaded plugin reports", "[plugin][note]") {
  // The test plugins that crash, hang or throw when loaded behave while this is set, as when they were built.
  ::setenv("CPPD_PLUGIN_NOTE_TOOL", "1", 1);
  const auto paths = builtPlugins();
  REQUIRE(paths.size() >= 10);
  for (const auto& path : paths) {
    INFO(path);
    const PluginNote note = noteOfFile(path);
    // Never closed: the maker's code must stay mapped.
    void* handle = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
    REQUIRE(handle != nullptr);
    const auto* stamp = static_cast<const cppd_abi_stamp*>(::dlsym(handle, CPPD_PLUGIN_STAMP_SYMBOL));
    REQUIRE(stamp != nullptr);
    CHECK(std::memcmp(&note.stamp, stamp, sizeof note.stamp) == 0);
    auto* const* factory = static_cast<cppd::ServiceMakerFactory* const*>(::dlsym(handle, CPPD_PLUGIN_FACTORY_SYMBOL));
    REQUIRE(factory != nullptr);
    auto maker = (*factory)();
    CHECK(note.tapname == maker->tapname());
    CHECK(note.description == maker->description());
    requireSameOptions(note.options, maker->options());
  }
  ::unsetenv("CPPD_PLUGIN_NOTE_TOOL");
}

TEST_CASE("Every prefix of a note is refused with a reason, never read past", "[plugin][note]") {
  const std::string whole = encodePluginNote(sampleNote());
  for (std::size_t size = 0; size < whole.size(); ++size) {
    // The note header says how long the descriptor is: any shorter section lies about its size.
    const std::string prefix = whole.substr(0, size);
    CHECK_THROWS_AS(decodePluginNote(prefix), cppd::Error);
  }
}

TEST_CASE("A note that lies about its sizes or counts is refused by name", "[plugin][note]") {
  std::string bytes = encodePluginNote(sampleNote());
  std::string lying = bytes;
  const std::uint32_t huge = 0x7fffffff;
  std::memcpy(lying.data() + 4, &huge, 4);  // descriptor size
  CHECK_THROWS_WITH(decodePluginNote(lying), Catch::Contains("claims 2147483647 bytes of metadata"));

  PluginNote many = sampleNote();
  many.options.assign(1025, many.options.front());
  CHECK_THROWS_WITH(decodePluginNote(encodePluginNote(many)), Catch::Contains("declares 1025 options"));

  PluginNote control = sampleNote();
  control.description = "two\nlines";
  CHECK_THROWS_WITH(decodePluginNote(encodePluginNote(control)), Catch::Contains("control byte 0x0a"));

  PluginNote badName = sampleNote();
  badName.tapname = "Hello World";
  CHECK_THROWS_WITH(decodePluginNote(encodePluginNote(badName)), Catch::Contains("characters other than"));
}

TEST_CASE("A plugin file whose note lies about its size is refused, and one without a note says so",
          "[plugin][note]") {
  const std::string hello = std::string(CPPD_TEST_PLUGIN_DIR) + "/hello.so";
  std::string bytes = readAll(hello);
  const std::string note = encodePluginNote(noteOfFile(hello));
  const auto at = bytes.find(note);
  REQUIRE(at != std::string::npos);
  const std::uint32_t huge = 1u << 30;
  std::memcpy(bytes.data() + at + 4, &huge, 4);
  char pattern[] = "/tmp/cppd-note-XXXXXX";
  cppd::posix::UniqueFd fd(::mkstemp(pattern));
  REQUIRE(fd);
  ::unlink(pattern);
  REQUIRE(::write(fd.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  CHECK_THROWS_WITH(readPluginNote(fd.get()), Catch::Contains("claims 1073741824 bytes of metadata"));

  CHECK_THROWS_WITH(noteOfFile(std::string(CPPD_TEST_PLUGIN_DIR) + "/no_entry.so"),
                    Catch::Contains("no cppd metadata note (.note.cppd.plugin)"));
}

TEST_CASE("A first-page note whose owner size runs past the notes read ends the search there, never reads past",
          "[plugin][note]") {
  const std::string hello = std::string(CPPD_TEST_PLUGIN_DIR) + "/hello.so";
  std::string bytes = readAll(hello);
  const std::string note = encodePluginNote(noteOfFile(hello));
  const auto at = bytes.find(note);
  REQUIRE(at != std::string::npos);
  REQUIRE(at < 4096);  // in the room in the first page
  for (std::uint32_t ownerSize : {0xffffffffu, 4096u, 3000u}) {
    INFO("owner size " << ownerSize);
    std::memcpy(bytes.data() + at, &ownerSize, 4);
    char pattern[] = "/tmp/cppd-note-XXXXXX";
    cppd::posix::UniqueFd fd(::mkstemp(pattern));
    REQUIRE(fd);
    ::unlink(pattern);
    REQUIRE(::write(fd.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    // Not found in the first page; the section of that name is the room itself, whose header now lies.
    CHECK_THROWS_WITH(readPluginNote(fd.get()), Catch::Contains("its metadata note claims an owner name of"));
  }
}

TEST_CASE("A note whose text would drive a terminal is refused: C1 and bidi controls, invalid UTF-8", "[plugin][note]") {
  for (const char* description : {"csi \xc2\x9b" "2J", "rlo \xe2\x80\xae" "txt", "bad \xff\xc0\x80", "cut \xe2\x80"}) {
    PluginNote note = sampleNote();
    note.description = description;
    CHECK_THROWS_WITH(decodePluginNote(encodePluginNote(note)), Catch::Contains("C1 or bidi control or invalid UTF-8"));
  }
  PluginNote fine = sampleNote();
  fine.description = "Serves caf\xc3\xa9 menus from C:\\menus, \xe6\x97\xa5\xe6\x9c\xac too.";
  CHECK(decodePluginNote(encodePluginNote(fine)).description == fine.description);
}

TEST_CASE("A note whose options the parser or --help would trip on is refused when it is read", "[plugin][note]") {
  const auto refusedWith = [](cppd::OptionSpec spec, const char* reason) {
    PluginNote note = sampleNote();
    note.options.push_back(std::move(spec));
    INFO(reason);
    CHECK_THROWS_WITH(decodePluginNote(encodePluginNote(note)), Catch::Contains(reason));
  };
  refusedWith({.longName = "help", .kind = cppd::OptionKind::flag}, "reserves for the plugin's help");
  refusedWith({.longName = "f"}, "one letter long");
  refusedWith({.longName = "other", .shortName = "p"}, "short name -p another option has");
  refusedWith({.longName = "port"}, "invalid or duplicate option 'port'");
  refusedWith({.longName = "loud", .defaultValue = "banana", .kind = cppd::OptionKind::flag}, "expected true or false");
  refusedWith({.longName = "count", .defaultValue = "notanint", .kind = cppd::OptionKind::integer}, "default its kind");
  refusedWith({.longName = "listen", .defaultValue = "99999", .kind = cppd::OptionKind::port}, "default its kind");
  refusedWith({.longName = "x", .shortName = "?"}, "one letter long");
}

namespace {

// An unlinked temporary file holding bytes, open for reading.
cppd::posix::UniqueFd fileWith(const std::string& bytes) {
  char pattern[] = "/tmp/cppd-note-XXXXXX";
  cppd::posix::UniqueFd fd(::mkstemp(pattern));
  REQUIRE(fd);
  ::unlink(pattern);
  REQUIRE(::write(fd.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  return fd;
}

// The plugin with a gap of gap bytes inserted just before its section headers (e_shoff moved along): the
// section name table and the note then lie far before the headers, outside the read that fetches them.
std::string withGapBeforeSectionHeaders(std::string bytes, std::size_t gap) {
  ElfW(Ehdr) header;
  REQUIRE(bytes.size() >= sizeof header);
  std::memcpy(&header, bytes.data(), sizeof header);
  REQUIRE(header.e_shoff > 0);
  REQUIRE(header.e_shoff <= bytes.size());
  bytes.insert(header.e_shoff, gap, '\0');
  header.e_shoff += gap;
  std::memcpy(bytes.data(), &header, sizeof header);
  return bytes;
}

}  // namespace

TEST_CASE("A note is read the same next to the section headers and far before them", "[plugin][note]") {
  // cppd_add_plugin's layout puts the name table and the note within the one read that fetches the section
  // headers; any other layout takes one read more for each, and must give the same note.
  for (const auto& path : builtPlugins()) {
    INFO(path);
    const std::string bytes = readAll(path);
    const std::string expected = encodePluginNote(noteOfFile(path));
    for (std::size_t gap : {std::size_t{1}, std::size_t{4096}, std::size_t{64 * 1024}}) {
      INFO("gap " << gap);
      auto fd = fileWith(withGapBeforeSectionHeaders(bytes, gap));
      CHECK(encodePluginNote(readPluginNote(fd.get())) == expected);
    }
  }
}

TEST_CASE("Notes read one after another do not leak into each other, whatever their sizes", "[plugin][note]") {
  // The reads reuse their buffers from one file to the next: a small or broken file read after a large one
  // must see only its own bytes.
  const auto paths = builtPlugins();
  std::vector<std::string> expected;
  for (const auto& path : paths) expected.push_back(encodePluginNote(noteOfFile(path)));
  const std::string hello = readAll(std::string(CPPD_TEST_PLUGIN_DIR) + "/hello.so");
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      INFO(paths[i]);
      CHECK(encodePluginNote(noteOfFile(paths[i])) == expected[i]);
      auto cut = fileWith(hello.substr(0, hello.size() - 100));
      CHECK_THROWS_WITH(readPluginNote(cut.get()), Catch::Contains("truncated ELF file"));
      auto moved = fileWith(withGapBeforeSectionHeaders(hello, 32 * 1024));
      CHECK(readPluginNote(moved.get()).tapname == "hello");
    }
  }
}
