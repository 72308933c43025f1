#include "plugin/elf_header.hpp"

#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <cppd/error.hpp>
#include <cppd/posix/unique_fd.hpp>

namespace cppd::runner {
namespace {

#if defined(__x86_64__)
constexpr int hostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int hostMachine = EM_AARCH64;
#elif defined(__i386__)
constexpr int hostMachine = EM_386;
#elif defined(__arm__)
constexpr int hostMachine = EM_ARM;
#elif defined(__riscv)
constexpr int hostMachine = EM_RISCV;
#else
constexpr int hostMachine = -1;  // unknown: the machine field is not checked
#endif

using Ehdr = ElfFile::Header;
#if __SIZEOF_POINTER__ == 8
using Phdr = Elf64_Phdr;
using Shdr = Elf64_Shdr;
constexpr unsigned char hostClass = ELFCLASS64;
#else
using Phdr = Elf32_Phdr;
using Shdr = Elf32_Shdr;
constexpr unsigned char hostClass = ELFCLASS32;
#endif

// Bounds on what a section lookup reads: no plugin has more sections or longer section names than this.
constexpr std::size_t maxSections = 4096;
constexpr std::size_t maxSectionNamesSize = 1 << 20;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr unsigned char hostData = ELFDATA2LSB;
#else
constexpr unsigned char hostData = ELFDATA2MSB;
#endif

// The first read: the ELF header and, in every linker's output, the program headers right after it.
constexpr std::size_t headSize = 4096;
// Read along with the section headers: the bytes before them, which hold the section name table and the note in
// a plugin cppd_add_plugin wrote (elf_note_writer.hpp), and in a stripped one too.
constexpr std::size_t tailLead = 16 * 1024;

[[noreturn]] void refuse(std::string reason) { throw Error(ErrorKind::data, std::move(reason)); }

// A stretch of the file read with one pread; lookups take their bytes from it when they lie inside. Its bytes
// live in a scratch buffer of the thread that is reused from one plugin file to the next (a listing reads
// hundreds: fresh buffers cost a page fault or two each, inside the read), or in owned for a one-off read.
struct Window {
  unsigned long long start = 0;
  std::size_t size = 0;
  const char* bytes = nullptr;
  std::unique_ptr<char[]> owned;

  // The bytes [offset, offset + length), or nullopt when they are not all inside.
  std::optional<std::string_view> slice(unsigned long long offset, unsigned long long length) const {
    if (offset < start || offset - start > size || length > size - (offset - start)) return {};
    return std::string_view(bytes + (offset - start), length);
  }
};

// The scratch buffers: one for the front of the file (inspect), one for the section headers and what precedes
// them (section). Each is in use only during one call, and neither call nests, so reusing them is safe. They
// grow to the largest read and are left uninitialised beyond what a read fills.
std::vector<char>& scratch(int which) {
  thread_local std::vector<char> buffers[2];
  return buffers[which];
}
constexpr int headScratch = 0;
constexpr int tailScratch = 1;

// What a read was for, in messages: "its section headers", "section .note.cppd.plugin".
struct ReadTarget {
  std::string_view what;
  std::string_view name = {};
};

std::string failedRead(const ReadTarget& target, const char* why) {
  const char* space = target.what.empty() ? "" : " ";
  return fmt::format("cannot read{}{}{}: {}", space, target.what, target.name, why);
}

// Up to size bytes at offset into memory: fewer only where the file ends. Throws what names the read and its
// error.
std::size_t readInto(int fd, char* memory, std::size_t size, unsigned long long offset, const ReadTarget& target) {
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd, memory + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) refuse(failedRead(target, std::strerror(errno)));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

// A window read into the scratch buffer which, or into a buffer of its own when which is -1.
Window readWindow(int fd, std::size_t size, unsigned long long offset, const ReadTarget& target, int which = -1) {
  Window window{offset, 0, nullptr, {}};
  char* memory = nullptr;
  if (which < 0) {
    window.owned.reset(new char[size]);
    memory = window.owned.get();
  } else {
    std::vector<char>& buffer = scratch(which);
    if (buffer.size() < size) buffer.resize(size);
    memory = buffer.data();
  }
  window.size = readInto(fd, memory, size, offset, target);
  window.bytes = memory;
  return window;
}

// Exactly size bytes at offset: a view into window when they lie inside (the common case, no copy), else read
// into spill, which then holds them. Throws when the file ends first.
std::string_view bytesAt(int fd, const Window& window, unsigned long long offset, std::size_t size,
                         const ReadTarget& target, Window& spill) {
  if (auto inside = window.slice(offset, size)) return *inside;
  spill = readWindow(fd, size, offset, target);
  if (spill.size != size) refuse(failedRead(target, "end of file"));
  return std::string_view(spill.bytes, spill.size);
}

// Entry index of a table of T at the start of bytes (which holds enough of them). ELF tables are aligned in
// the file but not necessarily in a buffer, hence the copy of the one entry.
template <typename T>
T entryAt(std::string_view bytes, std::size_t index) {
  T entry;
  std::memcpy(&entry, bytes.data() + index * sizeof(T), sizeof(T));
  return entry;
}

std::string printablePrefix(const unsigned char* bytes, std::size_t size) {
  std::string text;
  for (std::size_t i = 0; i < size && i < 4; ++i) {
    unsigned char c = bytes[i];
    text += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? std::string(1, static_cast<char>(c))
                                                             : fmt::format("\\x{:02x}", c);
  }
  return text;
}

std::optional<std::string> identProblem(const unsigned char* ident, std::size_t got) {
  if (got < SELFMAG || std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
    if (got == 0) return "not an ELF file (the file is empty)";
    return fmt::format("not an ELF file (starts with \"{}\")", printablePrefix(ident, got));
  }
  if (got < EI_NIDENT) return fmt::format("truncated ELF file: {} bytes, shorter than an ELF header", got);
  if (ident[EI_CLASS] != hostClass) {
    return fmt::format("a {}-bit ELF file, this cppd is {}-bit", ident[EI_CLASS] == ELFCLASS64 ? 64 : 32,
                       hostClass == ELFCLASS64 ? 64 : 32);
  }
  if (ident[EI_DATA] != hostData) return std::string("an ELF file of the other byte order");
  return std::nullopt;
}

// The end of the furthest structure the header describes: program headers, section headers and every loadable
// segment's file contents. A file shorter than that was truncated (an interrupted copy, a partial download).
std::optional<std::string> extentProblem(int fd, const Window& head, const Ehdr& header, off_t fileSize) {
  auto size = static_cast<unsigned long long>(fileSize);
  unsigned long long needed = sizeof(Ehdr);
  unsigned long long phEnd = header.e_phoff + static_cast<unsigned long long>(header.e_phnum) * header.e_phentsize;
  unsigned long long shEnd = header.e_shoff + static_cast<unsigned long long>(header.e_shnum) * header.e_shentsize;
  needed = std::max({needed, phEnd, shEnd});
  if (phEnd <= size && header.e_phentsize == sizeof(Phdr)) {
    Window spill;
    const std::string_view table =
        bytesAt(fd, head, header.e_phoff, header.e_phnum * sizeof(Phdr), {"its program headers"}, spill);
    for (std::size_t i = 0; i < header.e_phnum; ++i) {
      const auto segment = entryAt<Phdr>(table, i);
      if (segment.p_type == PT_LOAD || segment.p_type == PT_DYNAMIC) {
        needed = std::max<unsigned long long>(needed, segment.p_offset + segment.p_filesz);
      }
    }
  }
  if (needed > size) return fmt::format("truncated ELF file: {} bytes, its headers describe {}", size, needed);
  if (header.e_phnum == 0) return std::string("an ELF file without program headers (not loadable)");
  return std::nullopt;
}

unsigned long long padded4(std::uint32_t size) { return (static_cast<unsigned long long>(size) + 3) & ~3ULL; }

// The note segments (PT_NOTE) that lie inside the first read, 4-byte aligned and of whole words, one after
// another: the notes the linker put in the first page. Others (8-byte aligned GNU property notes, notes further
// into the file) are left out: no extra read is made for them.
std::string headNotes(const Window& head, const Ehdr& header) {
  std::string notes;
  if (header.e_phentsize != sizeof(Phdr)) return notes;
  const auto table = head.slice(header.e_phoff, static_cast<unsigned long long>(header.e_phnum) * sizeof(Phdr));
  if (!table) return notes;
  for (std::size_t i = 0; i < header.e_phnum; ++i) {
    const auto segment = entryAt<Phdr>(*table, i);
    if (segment.p_type != PT_NOTE || segment.p_align > 4 || segment.p_filesz % 4 != 0) continue;
    if (auto bytes = head.slice(segment.p_offset, segment.p_filesz)) notes.append(*bytes);
  }
  return notes;
}

// The section header table's bytes, checked against the file's size and bounded in count, read in one pread
// with the bytes before it (tail), which usually hold the name table and the note too.
std::string_view sectionHeaders(int fd, const Ehdr& header, off_t fileSize, Window& tail, Window& spill) {
  if (header.e_shnum == 0) return {};
  if (header.e_shentsize != sizeof(Shdr)) refuse(fmt::format("section headers of {} bytes, expected {}", header.e_shentsize, sizeof(Shdr)));
  if (header.e_shnum > maxSections) refuse(fmt::format("{} sections, more than {}", header.e_shnum, maxSections));
  const std::size_t tableSize = header.e_shnum * sizeof(Shdr);
  if (header.e_shoff + tableSize > static_cast<unsigned long long>(fileSize)) {
    refuse("its section headers lie beyond the end of the file");
  }
  const unsigned long long start = header.e_shoff > tailLead ? header.e_shoff - tailLead : 0;
  const ReadTarget target{"its section headers"};
  tail = readWindow(fd, static_cast<std::size_t>(header.e_shoff - start) + tableSize, start, target, tailScratch);
  return bytesAt(fd, tail, header.e_shoff, tableSize, target, spill);
}

// The bytes of one section, checked against the file's size and bounded by maxSize: a view into tail or spill.
std::string_view sectionBytes(int fd, const Window& tail, const Shdr& section, off_t fileSize, std::size_t maxSize,
                              std::string_view name, Window& spill) {
  if (section.sh_type == SHT_NOBITS) return {};
  if (section.sh_size > maxSize) refuse(fmt::format("section {} is {} bytes, more than {}", name, section.sh_size, maxSize));
  if (section.sh_offset > static_cast<unsigned long long>(fileSize) ||
      section.sh_size > static_cast<unsigned long long>(fileSize) - section.sh_offset) {
    refuse(fmt::format("section {} claims {} bytes at offset {}, beyond the end of the file ({} bytes)", name,
                       section.sh_size, section.sh_offset, fileSize));
  }
  return bytesAt(fd, tail, section.sh_offset, section.sh_size, {"section ", name}, spill);
}

}  // namespace

ElfFile ElfFile::inspect(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) refuse(fmt::format("cannot stat: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) refuse("not a regular file");
  return inspect(fd, st.st_size);
}

ElfFile ElfFile::inspect(int fd, off_t fileSize) {
  const Window head = readWindow(fd, headSize, 0, {""}, headScratch);
  const auto* ident = reinterpret_cast<const unsigned char*>(head.bytes);
  if (auto problem = identProblem(ident, head.size)) refuse(*problem);
  if (head.size < sizeof(Ehdr)) {
    refuse(fmt::format("truncated ELF file: {} bytes, shorter than an ELF header", head.size));
  }
  Ehdr header{};
  std::memcpy(&header, head.bytes, sizeof header);
  if (header.e_type == ET_EXEC) refuse("an ELF executable, not a shared object");
  if (header.e_type != ET_DYN) refuse(fmt::format("an ELF file of type {}, not a shared object", header.e_type));
  if (hostMachine >= 0 && header.e_machine != hostMachine) {
    refuse(fmt::format("built for machine {} (this cppd runs on {})", header.e_machine, hostMachine));
  }
  // The size the caller took may be older than what was just read: the larger one is the file's.
  fileSize = std::max<off_t>(fileSize, static_cast<off_t>(head.size));
  if (auto problem = extentProblem(fd, head, header, fileSize)) refuse(*problem);
  ElfFile file(fd, header, fileSize);
  file.notes_ = headNotes(head, header);
  return file;
}

std::optional<std::string> ElfFile::section(std::string_view name, std::size_t maxSize) const {
  Window tail, tableSpill, namesSpill, sectionSpill;
  const std::string_view table = sectionHeaders(fd_, header_, size_, tail, tableSpill);
  const std::size_t count = table.size() / sizeof(Shdr);
  if (count == 0) return std::nullopt;
  if (header_.e_shstrndx >= count) refuse("its section name table index is out of range");
  const std::string_view names = sectionBytes(fd_, tail, entryAt<Shdr>(table, header_.e_shstrndx), size_,
                                              maxSectionNamesSize, "name table", namesSpill);
  for (std::size_t i = count; i-- > 0;) {
    const auto candidate = entryAt<Shdr>(table, i);
    if (candidate.sh_name >= names.size()) continue;
    const std::string_view rest = names.substr(candidate.sh_name);
    if (rest.substr(0, rest.find('\0')) == name) {
      return std::string(sectionBytes(fd_, tail, candidate, size_, maxSize, name, sectionSpill));
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> ElfFile::firstPageNote(std::string_view owner, std::uint32_t type) const {
  const std::string_view notes(notes_);
  unsigned long long at = 0;
  while (at + 12 <= notes.size()) {
    std::uint32_t nameSize, descSize, noteType;
    std::memcpy(&nameSize, notes.data() + at, 4);
    std::memcpy(&descSize, notes.data() + at + 4, 4);
    std::memcpy(&noteType, notes.data() + at + 8, 4);
    const unsigned long long nameEnd = at + 12 + padded4(nameSize);
    if (nameEnd > notes.size()) return std::nullopt;
    if (noteType == type && notes.substr(at + 12, nameSize) == owner) return notes.substr(at);
    at = nameEnd + padded4(descSize);
  }
  return std::nullopt;
}

std::optional<std::string> elfProblem(int fd) {
  try {
    ElfFile::inspect(fd);
  } catch (const Error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

std::optional<std::string> elfProblem(const std::string& path) {
  posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) return fmt::format("cannot open: {}", std::strerror(errno));
  return elfProblem(fd.get());
}

}  // namespace cppd::runner
