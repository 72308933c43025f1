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

// Reads exactly size bytes at offset; false when the file ends first.
bool readAt(int fd, void* buffer, std::size_t size, off_t offset) {
  auto* out = static_cast<char*>(buffer);
  while (size > 0) {
    ssize_t n = ::pread(fd, out, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = 0;  // the file ended: no errno to report
    if (n <= 0) return false;
    out += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
  return true;
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
std::optional<std::string> extentProblem(int fd, const Ehdr& header, off_t fileSize) {
  auto size = static_cast<unsigned long long>(fileSize);
  unsigned long long needed = sizeof(Ehdr);
  unsigned long long phEnd = header.e_phoff + static_cast<unsigned long long>(header.e_phnum) * header.e_phentsize;
  unsigned long long shEnd = header.e_shoff + static_cast<unsigned long long>(header.e_shnum) * header.e_shentsize;
  needed = std::max({needed, phEnd, shEnd});
  if (phEnd <= size && header.e_phentsize == sizeof(Phdr)) {
    std::vector<Phdr> segments(header.e_phnum);
    if (!segments.empty() &&
        readAt(fd, segments.data(), segments.size() * sizeof(Phdr), static_cast<off_t>(header.e_phoff))) {
      for (const auto& segment : segments) {
        if (segment.p_type == PT_LOAD || segment.p_type == PT_DYNAMIC) {
          needed = std::max<unsigned long long>(needed, segment.p_offset + segment.p_filesz);
        }
      }
    }
  }
  if (needed > size) return fmt::format("truncated ELF file: {} bytes, its headers describe {}", size, needed);
  if (header.e_phnum == 0) return std::string("an ELF file without program headers (not loadable)");
  return std::nullopt;
}

[[noreturn]] void refuse(std::string reason) { throw Error(ErrorKind::data, std::move(reason)); }

// The section header table, checked against the file's size and bounded in count.
std::vector<Shdr> sectionHeaders(int fd, const Ehdr& header, off_t fileSize) {
  if (header.e_shnum == 0) return {};
  if (header.e_shentsize != sizeof(Shdr)) refuse(fmt::format("section headers of {} bytes, expected {}", header.e_shentsize, sizeof(Shdr)));
  if (header.e_shnum > maxSections) refuse(fmt::format("{} sections, more than {}", header.e_shnum, maxSections));
  const unsigned long long end = header.e_shoff + static_cast<unsigned long long>(header.e_shnum) * sizeof(Shdr);
  if (end > static_cast<unsigned long long>(fileSize)) refuse("its section headers lie beyond the end of the file");
  std::vector<Shdr> sections(header.e_shnum);
  if (!readAt(fd, sections.data(), sections.size() * sizeof(Shdr), static_cast<off_t>(header.e_shoff))) {
    refuse(fmt::format("cannot read its section headers: {}", errno ? std::strerror(errno) : "end of file"));
  }
  return sections;
}

// The bytes of one section, checked against the file's size and bounded by maxSize.
std::string sectionBytes(int fd, const Shdr& section, off_t fileSize, std::size_t maxSize, std::string_view name) {
  if (section.sh_type == SHT_NOBITS) return {};
  if (section.sh_size > maxSize) refuse(fmt::format("section {} is {} bytes, more than {}", name, section.sh_size, maxSize));
  if (section.sh_offset > static_cast<unsigned long long>(fileSize) ||
      section.sh_size > static_cast<unsigned long long>(fileSize) - section.sh_offset) {
    refuse(fmt::format("section {} claims {} bytes at offset {}, beyond the end of the file ({} bytes)", name,
                       section.sh_size, section.sh_offset, fileSize));
  }
  std::string bytes(section.sh_size, '\0');
  if (!readAt(fd, bytes.data(), bytes.size(), static_cast<off_t>(section.sh_offset))) {
    refuse(fmt::format("cannot read section {}: {}", name, errno ? std::strerror(errno) : "end of file"));
  }
  return bytes;
}

}  // namespace

ElfFile ElfFile::inspect(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) refuse(fmt::format("cannot stat: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) refuse("not a regular file");

  Ehdr header{};
  ssize_t got = ::pread(fd, &header, sizeof header, 0);
  if (got < 0) refuse(fmt::format("cannot read: {}", std::strerror(errno)));
  if (auto problem = identProblem(header.e_ident, static_cast<std::size_t>(got))) refuse(*problem);
  if (static_cast<std::size_t>(got) < sizeof header) {
    refuse(fmt::format("truncated ELF file: {} bytes, shorter than an ELF header", got));
  }
  if (header.e_type == ET_EXEC) refuse("an ELF executable, not a shared object");
  if (header.e_type != ET_DYN) refuse(fmt::format("an ELF file of type {}, not a shared object", header.e_type));
  if (hostMachine >= 0 && header.e_machine != hostMachine) {
    refuse(fmt::format("built for machine {} (this cppd runs on {})", header.e_machine, hostMachine));
  }
  if (auto problem = extentProblem(fd, header, st.st_size)) refuse(*problem);
  return ElfFile(fd, header, st.st_size);
}

std::optional<std::string> ElfFile::section(std::string_view name, std::size_t maxSize) const {
  const std::vector<Shdr> sections = sectionHeaders(fd_, header_, size_);
  if (sections.empty()) return std::nullopt;
  if (header_.e_shstrndx >= sections.size()) refuse("its section name table index is out of range");
  const std::string names =
      sectionBytes(fd_, sections[header_.e_shstrndx], size_, maxSectionNamesSize, "name table");
  for (const Shdr& candidate : sections) {
    if (candidate.sh_name >= names.size()) continue;
    const char* start = names.data() + candidate.sh_name;
    const std::size_t length = ::strnlen(start, names.size() - candidate.sh_name);
    if (std::string_view(start, length) == name) return sectionBytes(fd_, candidate, size_, maxSize, name);
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
