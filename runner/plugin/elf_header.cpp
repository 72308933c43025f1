#include "plugin/elf_header.hpp"

#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

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

#if __SIZEOF_POINTER__ == 8
using Ehdr = Elf64_Ehdr;
using Phdr = Elf64_Phdr;
constexpr unsigned char hostClass = ELFCLASS64;
#else
using Ehdr = Elf32_Ehdr;
using Phdr = Elf32_Phdr;
constexpr unsigned char hostClass = ELFCLASS32;
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr unsigned char hostData = ELFDATA2LSB;
#else
constexpr unsigned char hostData = ELFDATA2MSB;
#endif

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads exactly size bytes at offset; false when the file ends first.
bool readAt(int fd, void* buffer, std::size_t size, off_t offset) {
  auto* out = static_cast<char*>(buffer);
  while (size > 0) {
    ssize_t n = ::pread(fd, out, size, offset);
    if (n < 0 && errno == EINTR) continue;
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

}  // namespace

std::optional<std::string> elfProblem(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (fd.get() < 0) return fmt::format("cannot open: {}", std::strerror(errno));
  return elfProblem(fd.get());
}

std::optional<std::string> elfProblem(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fmt::format("cannot stat: {}", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return std::string("not a regular file");

  Ehdr header{};
  ssize_t got = ::pread(fd, &header, sizeof header, 0);
  if (got < 0) return fmt::format("cannot read: {}", std::strerror(errno));
  if (auto problem = identProblem(header.e_ident, static_cast<std::size_t>(got))) return problem;
  if (static_cast<std::size_t>(got) < sizeof header) {
    return fmt::format("truncated ELF file: {} bytes, shorter than an ELF header", got);
  }
  if (header.e_type == ET_EXEC) return std::string("an ELF executable, not a shared object");
  if (header.e_type != ET_DYN) return fmt::format("an ELF file of type {}, not a shared object", header.e_type);
  if (hostMachine >= 0 && header.e_machine != hostMachine) {
    return fmt::format("built for machine {} (this cppd runs on {})", header.e_machine, hostMachine);
  }
  return extentProblem(fd, header, st.st_size);
}

}  // namespace cppd::runner
