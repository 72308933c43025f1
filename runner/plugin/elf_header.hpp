#pragma once

// Reading a plugin file as data before anything dlopens it: is it a complete ELF shared object for this
// machine, and what does one of its sections hold? Catches text files, empty files, truncated copies and foreign
// architectures with a clear reason, instead of dlerror's "file too short" or "invalid ELF header". Every offset
// and size comes from the file, so each is checked against the file's size and a bound before it is used.
// A listing reads hundreds of plugin files and each read is a system call, so reads are few and large: one for
// the ELF and program headers at the front, which also holds the notes the linker put in the first page (where
// cppd_add_plugin keeps room for the plugin's metadata note: elf_note_writer.hpp); one for the section headers
// with the bytes just before them (where a note too large for that room goes), only when a lookup needs a
// section; anything else is read on its own.

#include <elf.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cppd::runner {

class ElfFile {
 public:
#if __SIZEOF_POINTER__ == 8
  using Header = Elf64_Ehdr;
#else
  using Header = Elf32_Ehdr;
#endif

  /// Reads and checks the headers of the file open on fd (which stays the caller's). Throws cppd::Error (data)
  /// with the reason alone: "not an ELF file (starts with \"#!/b\")", "truncated ELF file: 812 bytes, its
  /// headers describe 16440", "an ELF executable, not a shared object", "built for machine 183 (this cppd runs
  /// on 62)"; I/O errors are reasons too.
  static ElfFile inspect(int fd);

  /// inspect() for a regular file whose size the caller has just taken with fstat (one system call fewer).
  static ElfFile inspect(int fd, off_t fileSize);

  /// The contents of the last section called name (a note that did not fit its room comes after it), or
  /// nullopt when there is none. Throws cppd::Error (data) when the section headers or the section are broken
  /// or the section is larger than maxSize.
  std::optional<std::string> section(std::string_view name, std::size_t maxSize) const;

  /// The first note (ELF note format, 4-byte aligned) owned by owner (its name, terminator included) with type
  /// type, in a note segment (PT_NOTE) inside the first read: its bytes from its header to the end of the notes
  /// read (a note that claims more than that is for its decoder to refuse). nullopt when there is none: no
  /// system call is made.
  std::optional<std::string_view> firstPageNote(std::string_view owner, std::uint32_t type) const;

 private:
  ElfFile(int fd, const Header& header, off_t size) : fd_(fd), header_(header), size_(size) {}

  int fd_;
  Header header_;
  off_t size_;
  std::string notes_;  // the 4-byte aligned note segments inside the first read, one after another
};

/// Why the file open on fd cannot be a plugin for this process (ElfFile::inspect's reason), or nullopt.
std::optional<std::string> elfProblem(int fd);

/// elfProblem on the file at path (for tests and the fuzzer).
std::optional<std::string> elfProblem(const std::string& path);

}  // namespace cppd::runner
