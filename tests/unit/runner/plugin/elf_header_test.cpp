#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "plugin/elf_header.hpp"
#include "unit/support/runner_test_support.hpp"

using cppd::runner::elfProblem;
using cppd::test::slurp;
using cppd::test::TempDir;

namespace {

// The cppd SDK itself is a complete ELF shared object for this machine.
std::string sdkLibrary() { return CPPD_TEST_SDK_LIBRARY; }

}  // namespace

TEST_CASE("A real shared object passes the ELF pre-check", "[plugin][elf]") {
  CHECK_FALSE(elfProblem(sdkLibrary()).has_value());
}

TEST_CASE("Junk files fail the ELF pre-check with a reason", "[plugin][elf]") {
  TempDir dir;
  CHECK(elfProblem(dir.write("empty.so", "")) == "not an ELF file (the file is empty)");
  CHECK(elfProblem(dir.write("text.so", "#!/bin/sh\necho hi\n")) == "not an ELF file (starts with \"#!/b\")");
  CHECK(elfProblem(dir.write("short.so",
                             "\x7f"
                             "ELF")) == "truncated ELF file: 4 bytes, shorter than an ELF header");
  CHECK(elfProblem(dir / "missing.so") == "cannot open: No such file or directory");
  CHECK(elfProblem(dir.path()) == "not a regular file");
}

TEST_CASE("A truncated copy of a shared object fails the ELF pre-check", "[plugin][elf]") {
  TempDir dir;
  std::string whole = slurp(sdkLibrary());
  REQUIRE(whole.size() > 4096);
  auto problem = elfProblem(dir.write("cut.so", whole.substr(0, whole.size() / 2)));
  REQUIRE(problem.has_value());
  CHECK(problem->rfind("truncated ELF file: " + std::to_string(whole.size() / 2) + " bytes, its headers describe ",
                       0) == 0);
}

TEST_CASE("An executable is not a plugin", "[plugin][elf]") {
  // A copy of the SDK library with its type field changed to ET_EXEC (PIE executables are ET_DYN, so a real
  // ET_EXEC file is hard to come by on Debian).
  TempDir dir;
  std::string bytes = slurp(sdkLibrary());
  bytes[16] = 2;  // e_type = ET_EXEC (little-endian low byte)
  bytes[17] = 0;
  CHECK(elfProblem(dir.write("exec.so", bytes)) == "an ELF executable, not a shared object");
}
