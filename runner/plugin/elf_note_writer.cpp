#include "plugin/elf_note_writer.hpp"

#include <elf.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <cppd/error.hpp>

#include "plugin/elf_header.hpp"

namespace cppd::runner {
namespace {

using Ehdr = ElfFile::Header;
#if __SIZEOF_POINTER__ == 8
using Shdr = Elf64_Shdr;
constexpr unsigned char hostClass = ELFCLASS64;
#else
using Shdr = Elf32_Shdr;
constexpr unsigned char hostClass = ELFCLASS32;
#endif

[[noreturn]] void refuse(const std::string& reason) {
  throw Error(ErrorKind::data, fmt::format("cannot write the note: {}", reason));
}

// Whether [offset, offset + size) lies inside a file of fileSize bytes.
bool inside(unsigned long long offset, unsigned long long size, std::size_t fileSize) {
  return offset <= fileSize && size <= fileSize - offset;
}

Ehdr headerOf(const std::string& image) {
  Ehdr header{};
  if (image.size() < sizeof header || std::memcmp(image.data(), ELFMAG, SELFMAG) != 0) refuse("not an ELF file");
  std::memcpy(&header, image.data(), sizeof header);
  if (header.e_ident[EI_CLASS] != hostClass) refuse("an ELF file of the other class");
  if (header.e_shentsize != sizeof(Shdr) || header.e_shnum == 0 || header.e_shstrndx >= header.e_shnum) {
    refuse("no usable section headers (stripped of them, or not made by a linker)");
  }
  if (!inside(header.e_shoff, std::size_t{header.e_shnum} * sizeof(Shdr), image.size())) {
    refuse("its section headers lie beyond the end of the file");
  }
  return header;
}

std::vector<Shdr> sectionsOf(const std::string& image, const Ehdr& header) {
  std::vector<Shdr> sections(header.e_shnum);
  if (!sections.empty()) std::memcpy(sections.data(), image.data() + header.e_shoff, sections.size() * sizeof(Shdr));
  return sections;
}

// The index of the section called name that is allocated (the room) or not (the note at the end), or
// sections.size().
std::size_t find(const std::vector<Shdr>& sections, std::string_view names, std::string_view name, bool allocated) {
  for (std::size_t i = 0; i < sections.size(); ++i) {
    if (sections[i].sh_name >= names.size() || ((sections[i].sh_flags & SHF_ALLOC) != 0) != allocated) continue;
    const std::string_view rest = names.substr(sections[i].sh_name);
    if (rest.substr(0, rest.find('\0')) == name) return i;
  }
  return sections.size();
}

// Where the rewritten tail starts: at the first of the sections about to be rewritten (moving) when nothing
// else lies after it and the section headers end the file, as every linker and earlier call leave them;
// otherwise at the end of the file, which then keeps the old bytes unused.
std::size_t tailStart(const std::string& image, const Ehdr& header, const std::vector<Shdr>& sections,
                      const std::vector<std::size_t>& moving) {
  if (header.e_shoff + std::size_t{header.e_shnum} * sizeof(Shdr) != image.size()) return image.size();
  unsigned long long start = header.e_shoff;
  for (std::size_t index : moving) start = std::min<unsigned long long>(start, sections[index].sh_offset);
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const bool moves = std::find(moving.begin(), moving.end(), i) != moving.end();
    if (moves || sections[i].sh_type == SHT_NOBITS || sections[i].sh_size == 0) continue;
    if (sections[i].sh_offset + sections[i].sh_size > start) return static_cast<std::size_t>(header.e_shoff);
  }
  return static_cast<std::size_t>(start);
}

// Writes note at the start of room (an allocated note section inside image) and makes what is left one note
// of no owner and type 0, which readers pass over. False, with image unchanged, when note does not fit so.
bool placeInRoom(std::string& image, const Shdr& room, std::string_view note) {
  // What the note leaves of the room becomes one note of its own, which takes at least its 12-byte header.
  const std::size_t left = room.sh_size - std::min<std::size_t>(note.size(), room.sh_size);
  if (note.size() % 4 != 0 || note.size() > room.sh_size || (left != 0 && left < 12)) return false;
  char* at = image.data() + room.sh_offset;
  if (!note.empty()) std::memcpy(at, note.data(), note.size());  // an empty view may hold a null pointer
  std::memset(at + note.size(), 0, left);
  if (left != 0) {
    const auto fill = static_cast<std::uint32_t>(left - 12);  // no owner, type 0, the rest its descriptor
    std::memcpy(at + note.size() + 4, &fill, 4);
  }
  return true;
}

// The allocated note section called name (the room), checked to lie inside image, or nullptr.
const Shdr* roomOf(const std::string& image, const std::vector<Shdr>& sections, std::string_view names,
                   std::string_view name) {
  const std::size_t index = find(sections, names, name, true);
  if (index == sections.size()) return nullptr;
  const Shdr& room = sections[index];
  if (room.sh_type != SHT_NOTE || !inside(room.sh_offset, room.sh_size, image.size())) {
    refuse(fmt::format("its section {} is no note inside the file", name));
  }
  return &room;
}

void align(std::string& image, std::size_t alignment) {
  image.resize((image.size() + alignment - 1) / alignment * alignment, '\0');
}

}  // namespace

std::string withNoteSection(std::string image, std::string_view name, std::string_view note) {
  Ehdr header = headerOf(image);
  std::vector<Shdr> sections = sectionsOf(image, header);
  const std::size_t namesIndex = header.e_shstrndx;
  const Shdr& namesHeader = sections[namesIndex];
  if (namesHeader.sh_type != SHT_STRTAB || !inside(namesHeader.sh_offset, namesHeader.sh_size, image.size())) {
    refuse("its section name table lies beyond the end of the file");
  }
  std::string names = image.substr(namesHeader.sh_offset, namesHeader.sh_size);
  // The note at the end must be the only one: a room (which readers look at first) is emptied.
  if (const Shdr* room = roomOf(image, sections, names, name)) placeInRoom(image, *room, {});
  std::size_t noteIndex = find(sections, names, name, false);
  std::vector<std::size_t> moving{namesIndex};
  if (noteIndex < sections.size()) {
    moving.push_back(noteIndex);
  } else {
    Shdr added{};
    added.sh_name = static_cast<decltype(added.sh_name)>(names.size());
    added.sh_type = SHT_NOTE;
    added.sh_addralign = 4;
    names.append(name).push_back('\0');
    sections.push_back(added);
    if (sections.size() >= SHN_LORESERVE) refuse("it has too many sections for one more");
  }
  image.resize(tailStart(image, header, sections, moving));
  // Note, names, headers: ElfFile reads the section headers with the bytes just before them.
  align(image, 4);
  sections[noteIndex].sh_offset = image.size();
  sections[noteIndex].sh_size = note.size();
  image.append(note);
  sections[namesIndex].sh_offset = image.size();
  sections[namesIndex].sh_size = names.size();
  image.append(names);
  align(image, alignof(Shdr));
  header.e_shoff = image.size();
  header.e_shnum = static_cast<decltype(header.e_shnum)>(sections.size());
  image.append(reinterpret_cast<const char*>(sections.data()), sections.size() * sizeof(Shdr));
  std::memcpy(image.data(), &header, sizeof header);
  return image;
}

std::optional<std::string> withNoteInRoom(std::string image, std::string_view name, std::string_view note) {
  const Ehdr header = headerOf(image);
  const std::vector<Shdr> sections = sectionsOf(image, header);
  const Shdr& namesHeader = sections[header.e_shstrndx];
  if (!inside(namesHeader.sh_offset, namesHeader.sh_size, image.size())) {
    refuse("its section name table lies beyond the end of the file");
  }
  const std::string names = image.substr(namesHeader.sh_offset, namesHeader.sh_size);
  const Shdr* room = roomOf(image, sections, names, name);
  if (room == nullptr || !placeInRoom(image, *room, note)) return std::nullopt;
  return image;
}

}  // namespace cppd::runner
