// The ELF pre-check every plugin candidate passes before anything dlopens it: plugin files are untrusted, and a
// truncated or hostile .so must be refused with a reason, never crash the listing. Input: the file's bytes, on a
// tmpfs scratch file. Nothing is ever loaded.
// Checks: elfProblem never throws and gives a non-empty one-line reason, or nullopt only for a file at least as
// long as an ELF header that starts with the ELF magic.

#include <elf.h>
#include <plugin/elf_header.hpp>

#include <cstring>

#include "fuzz_support.hpp"

namespace {

cppd::fuzz::ScratchFile& scratch() {
  static cppd::fuzz::ScratchFile file("plugin.so");
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  scratch().write(data, size);
  std::optional<std::string> problem;
  try {
    problem = cppd::runner::elfProblem(scratch().path());
  } catch (const std::exception& e) {
    cppd::fuzz::fail(std::string("elfProblem threw ") + typeid(e).name() + ": " + e.what());
  }
  if (problem) {
    cppd::fuzz::check(!problem->empty(), "an empty reason");
    cppd::fuzz::check(problem->find('\n') == std::string::npos, "a reason with a newline: " + *problem);
  } else {
    cppd::fuzz::check(size >= sizeof(Elf64_Ehdr) && std::memcmp(data, ELFMAG, SELFMAG) == 0,
                      "a file without a complete ELF header was accepted");
  }
  return 0;
}
