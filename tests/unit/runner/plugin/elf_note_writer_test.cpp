#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <unistd.h>

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
using cppd::runner::withNoteSection;

namespace {

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

cppd::posix::UniqueFd fileWith(const std::string& bytes) {
  char pattern[] = "/tmp/cppd-note-writer-XXXXXX";
  cppd::posix::UniqueFd fd(::mkstemp(pattern));
  REQUIRE(fd);
  ::unlink(pattern);
  REQUIRE(::write(fd.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  return fd;
}

PluginNote noteOf(const std::string& bytes) {
  auto fd = fileWith(bytes);
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
  note.description = std::string(3000, 'd');
  note.options.push_back({"port", "p", "Where to listen.", "8080", cppd::OptionKind::port, false, {}});
  return note;
}

}  // namespace

TEST_CASE("Every built plugin's note, name table and section headers end its file, in one short stretch",
          "[plugin][note]") {
  // A listing reads the section headers with the 16 KiB before them: the note and the name table must be
  // there, not before the symbol table (where objcopy --add-section put them).
  for (const char* dir : {CPPD_BUILD_PLUGIN_DIR, CPPD_TEST_PLUGIN_DIR}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".so" || entry.path().filename() == "no_entry.so") continue;
      INFO(entry.path());
      const std::string bytes = readAll(entry.path());
      const Layout layout = layoutOf(bytes);
      const auto* note = layout.find(pluginNoteSection);
      REQUIRE(note != nullptr);
      const auto& names = layout.sections[layout.header.e_shstrndx];
      CHECK(note->sh_offset + note->sh_size <= names.sh_offset);
      CHECK(names.sh_offset + names.sh_size <= layout.header.e_shoff);
      CHECK(layout.header.e_shoff - note->sh_offset < 16 * 1024);
      CHECK(layout.header.e_shoff + layout.header.e_shnum * sizeof(ElfW(Shdr)) == bytes.size());
    }
  }
}

TEST_CASE("A note written again replaces the old one, the file grows by the difference only", "[plugin][note]") {
  const std::string hello = readAll(std::string(CPPD_TEST_PLUGIN_DIR) + "/hello.so");
  const PluginNote original = noteOf(hello);
  const std::string other = encodePluginNote(otherNote());
  const std::string once = withNoteSection(hello, pluginNoteSection, other);
  CHECK(noteOf(once).tapname == "other");
  CHECK(noteOf(once).description == otherNote().description);
  const std::string twice = withNoteSection(once, pluginNoteSection, other);
  CHECK(twice == once);
  const std::string back = withNoteSection(twice, pluginNoteSection, encodePluginNote(original));
  CHECK(back.size() == hello.size());
  CHECK(encodePluginNote(noteOf(back)) == encodePluginNote(original));
  CHECK(layoutOf(back).sections.size() == layoutOf(hello).sections.size());
}

TEST_CASE("Writing a note moves nothing the loader maps: the bytes before the name table stay as they were",
          "[plugin][note]") {
  const std::string hello = readAll(std::string(CPPD_TEST_PLUGIN_DIR) + "/hello.so");
  const Layout before = layoutOf(hello);
  // Where the rewritten tail may start: the first of the note and the name table.
  std::size_t kept = before.sections[before.header.e_shstrndx].sh_offset;
  if (const auto* note = before.find(pluginNoteSection)) kept = std::min<std::size_t>(kept, note->sh_offset);
  const std::string after = withNoteSection(hello, pluginNoteSection, encodePluginNote(otherNote()));
  const std::size_t header = sizeof(ElfW(Ehdr));
  CHECK(after.compare(header, kept - header, hello, header, kept - header) == 0);
  const Layout layout = layoutOf(after);
  for (std::size_t i = 0; i < before.sections.size(); ++i) {
    if (i == before.header.e_shstrndx || &before.sections[i] == before.find(pluginNoteSection)) continue;
    CHECK(layout.sections[i].sh_offset == before.sections[i].sh_offset);
  }
}

TEST_CASE("A note is added to an ELF file without one, and a file that is not ELF is refused by name",
          "[plugin][note]") {
  const std::string plain = readAll(std::string(CPPD_TEST_PLUGIN_DIR) + "/no_entry.so");
  REQUIRE(layoutOf(plain).find(pluginNoteSection) == nullptr);
  const std::string noted = withNoteSection(plain, pluginNoteSection, encodePluginNote(otherNote()));
  CHECK(layoutOf(noted).sections.size() == layoutOf(plain).sections.size() + 1);
  CHECK(noteOf(noted).tapname == "other");

  CHECK_THROWS_WITH(withNoteSection("#!/bin/sh\n", pluginNoteSection, "x"), "cannot write the note: not an ELF file");
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
