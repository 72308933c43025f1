#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cppd/error.hpp>
#include <cppd/posix/unique_fd.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "plugin/abi_stamp.hpp"
#include "plugin/elf_note_writer.hpp"
#include "plugin/plugin_note.hpp"

namespace fs = std::filesystem;
using cppd::runner::encodePluginNote;
using cppd::runner::pluginNoteSection;
using cppd::runner::PluginNote;
using cppd::runner::readPluginNote;
using cppd::runner::withNoteInRoom;
using cppd::runner::withNoteSection;

namespace {

std::string writtenBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

cppd::posix::UniqueFd noteFileWith(const std::string& bytes) {
  char pattern[] = "/tmp/cppd-note-writer-XXXXXX";
  cppd::posix::UniqueFd fd(::mkstemp(pattern));
  REQUIRE(fd);
  ::unlink(pattern);
  REQUIRE(::write(fd.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  return fd;
}

PluginNote noteOf(const std::string& bytes) {
  auto fd = noteFileWith(bytes);
  return readPluginNote(fd.get());
}

struct Layout {
  ElfW(Ehdr) header;
  std::vector<ElfW(Shdr)> sections;
  std::string names;

  const ElfW(Shdr)* find(std::string_view name) const {
    for (const auto& section : sections) {
      if (section.sh_name < names.size() && std::string_view(names.c_str() + section.sh_name) == name) return &section;
    }
    return nullptr;
  }
};

Layout layoutOf(const std::string& bytes) {
  Layout layout{};
  REQUIRE(bytes.size() >= sizeof layout.header);
  std::memcpy(&layout.header, bytes.data(), sizeof layout.header);
  REQUIRE(layout.header.e_shoff + layout.header.e_shnum * sizeof(ElfW(Shdr)) <= bytes.size());
  layout.sections.resize(layout.header.e_shnum);
  std::memcpy(layout.sections.data(), bytes.data() + layout.header.e_shoff,
              layout.sections.size() * sizeof(ElfW(Shdr)));
  const auto& names = layout.sections.at(layout.header.e_shstrndx);
  layout.names = bytes.substr(names.sh_offset, names.sh_size);
  return layout;
}

PluginNote otherNote() {
  PluginNote note;
  note.stamp = cppd::runner::hostAbiStamp();
  note.tapname = "other";
  note.description = std::string(1000, 'd');
  note.options.push_back({"port", "p", "Where to listen.", "8080", cppd::OptionKind::port, false, {}});
  return note;
}

std::string helloBytes() {
  std::string path = CPPD_TEST_PLUGIN_DIR;  // appended, not `std::string(...) + "..."`: GCC 12's -Warray-bounds
  path += "/hello.so";                      // misreads that temporary's inline buffer in a unity batch
  return writtenBytes(path);
}

// A note too large for the 3 KiB room.
PluginNote largeNote() {
  PluginNote note = otherNote();
  note.description = std::string(4000, 'd');
  return note;
}

}  // namespace

TEST_CASE("Every built plugin's note is in the room in its first page, which the read of its ELF header holds",
          "[plugin][note]") {
  for (const char* dir : {CPPD_BUILD_PLUGIN_DIR, CPPD_TEST_PLUGIN_DIR}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".so" || entry.path().filename() == "no_entry.so") continue;
      INFO(entry.path());
      const std::string bytes = writtenBytes(entry.path());
      const Layout layout = layoutOf(bytes);
      const auto* room = layout.find(pluginNoteSection);
      REQUIRE(room != nullptr);
      CHECK((room->sh_flags & SHF_ALLOC) != 0);
      CHECK(room->sh_offset + room->sh_size <= 4096);
      std::vector<ElfW(Phdr)> segments(layout.header.e_phnum);
      std::memcpy(segments.data(), bytes.data() + layout.header.e_phoff, segments.size() * sizeof(ElfW(Phdr)));
      CHECK(std::any_of(segments.begin(), segments.end(), [&](const ElfW(Phdr)& segment) {
        return segment.p_type == PT_NOTE && segment.p_offset <= room->sh_offset &&
               room->sh_offset + room->sh_size <= segment.p_offset + segment.p_filesz;
      }));
      const std::string note = encodePluginNote(noteOf(bytes));
      CHECK(bytes.compare(room->sh_offset, note.size(), note) == 0);
      std::size_t named = 0;
      for (const auto& section : layout.sections) {
        named += section.sh_name < layout.names.size() && layout.names.c_str() + section.sh_name == pluginNoteSection;
      }
      CHECK(named == 1);
    }
  }
}

TEST_CASE("A note fills the room exactly or leaves it a whole note of padding, else it does not go there",
          "[plugin][note]") {
  const std::string hello = helloBytes();
  const Layout before = layoutOf(hello);
  const auto* room = before.find(pluginNoteSection);
  REQUIRE(room != nullptr);
  REQUIRE(room->sh_size == 3072);
  CHECK(withNoteInRoom(hello, pluginNoteSection, std::string(3072, 'x')).has_value());
  CHECK(withNoteInRoom(hello, pluginNoteSection, std::string(3060, 'x')).has_value());
  CHECK_FALSE(withNoteInRoom(hello, pluginNoteSection, std::string(3068, 'x')).has_value());  // 4 bytes left
  CHECK_FALSE(withNoteInRoom(hello, pluginNoteSection, std::string(3064, 'x')).has_value());  // 8 bytes left
  CHECK_FALSE(withNoteInRoom(hello, pluginNoteSection, std::string(3076, 'x')).has_value());
  const std::string plain = writtenBytes(std::string(CPPD_TEST_PLUGIN_DIR) + "/no_entry.so");
  CHECK_FALSE(withNoteInRoom(plain, pluginNoteSection, std::string(12, 'x')).has_value());  // no room at all
}

TEST_CASE("Writing a note into the room changes no byte outside it, and again gives the same file", "[plugin][note]") {
  const std::string hello = helloBytes();
  const Layout before = layoutOf(hello);
  const auto* room = before.find(pluginNoteSection);
  REQUIRE(room != nullptr);
  const auto written = withNoteInRoom(hello, pluginNoteSection, encodePluginNote(otherNote()));
  REQUIRE(written.has_value());
  REQUIRE(written->size() == hello.size());
  CHECK(written->compare(0, room->sh_offset, hello, 0, room->sh_offset) == 0);
  const std::size_t end = room->sh_offset + room->sh_size;
  CHECK(written->compare(end, std::string::npos, hello, end, std::string::npos) == 0);
  CHECK(noteOf(*written).tapname == "other");
  CHECK(withNoteInRoom(*written, pluginNoteSection, encodePluginNote(otherNote())) == written);
  const auto back = withNoteInRoom(*written, pluginNoteSection, encodePluginNote(noteOf(hello)));
  CHECK(back == hello);
}

TEST_CASE("A note too large for the room goes at the end, before the section names and headers, and is the one read",
          "[plugin][note]") {
  const std::string hello = helloBytes();
  const std::string large = encodePluginNote(largeNote());
  REQUIRE_FALSE(withNoteInRoom(hello, pluginNoteSection, large).has_value());
  const std::string once = withNoteSection(hello, pluginNoteSection, large);
  CHECK(noteOf(once).description == largeNote().description);
  const Layout layout = layoutOf(once);
  const auto* room = layout.find(pluginNoteSection);  // the first one of the name: the room, still there, empty
  REQUIRE(room != nullptr);
  CHECK((room->sh_flags & SHF_ALLOC) != 0);
  CHECK(once.compare(room->sh_offset, 12, std::string("\0\0\0\0\xf4\x0b\0\0\0\0\0\0", 12)) == 0);  // 3060
  const auto& note = layout.sections.back();
  CHECK((note.sh_flags & SHF_ALLOC) == 0);
  const auto& names = layout.sections[layout.header.e_shstrndx];
  CHECK(note.sh_offset + note.sh_size <= names.sh_offset);
  CHECK(names.sh_offset + names.sh_size <= layout.header.e_shoff);
  CHECK(layout.header.e_shoff - note.sh_offset < 16 * 1024);
  CHECK(layout.header.e_shoff + layout.header.e_shnum * sizeof(ElfW(Shdr)) == once.size());
  // Written again: the old note, names and headers go, nothing grows.
  CHECK(withNoteSection(once, pluginNoteSection, large) == once);
  // The bytes before the name table but the room's stay as the linker left them.
  const std::size_t kept = layoutOf(hello).sections[layoutOf(hello).header.e_shstrndx].sh_offset;
  const std::size_t header = sizeof(ElfW(Ehdr));
  const std::size_t roomEnd = room->sh_offset + room->sh_size;
  CHECK(once.compare(header, room->sh_offset - header, hello, header, room->sh_offset - header) == 0);
  CHECK(once.compare(roomEnd, kept - roomEnd, hello, roomEnd, kept - roomEnd) == 0);
}

TEST_CASE("A note is added to an ELF file without one, and a file that is not ELF is refused by name",
          "[plugin][note]") {
  const std::string plain = writtenBytes(std::string(CPPD_TEST_PLUGIN_DIR) + "/no_entry.so");
  REQUIRE(layoutOf(plain).find(pluginNoteSection) == nullptr);
  const std::string noted = withNoteSection(plain, pluginNoteSection, encodePluginNote(otherNote()));
  CHECK(layoutOf(noted).sections.size() == layoutOf(plain).sections.size() + 1);
  CHECK(noteOf(noted).tapname == "other");

  CHECK_THROWS_WITH(withNoteSection("#!/bin/sh\n", pluginNoteSection, "x"), "cannot write the note: not an ELF file");
  CHECK_THROWS_WITH(withNoteInRoom("#!/bin/sh\n", pluginNoteSection, "x"), "cannot write the note: not an ELF file");
  std::string headless = plain;
  ElfW(Ehdr) header;
  std::memcpy(&header, headless.data(), sizeof header);
  header.e_shnum = 0;
  std::memcpy(headless.data(), &header, sizeof header);
  CHECK_THROWS_WITH(withNoteSection(headless, pluginNoteSection, "x"), Catch::Contains("no usable section headers"));
  header.e_shnum = layoutOf(plain).header.e_shnum;
  header.e_shoff = plain.size();
  std::memcpy(headless.data(), &header, sizeof header);
  CHECK_THROWS_WITH(withNoteSection(headless, pluginNoteSection, "x"), Catch::Contains("beyond the end of the file"));
}
