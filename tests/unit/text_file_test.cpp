#include <cerrno>
#include <string>

#include <catch2/catch.hpp>

#include "runner_test_support.hpp"
#include "text_file.hpp"

using cppd::runner::readTextFile;
using cppd::test::spit;
using cppd::test::TempDir;

TEST_CASE("readTextFile returns a file's bytes exactly, whatever its size") {
  TempDir dir;
  std::string big;
  for (int i = 0; big.size() < 100000; ++i) big += "line " + std::to_string(i) + "\n";
  big += std::string("\0binary\r\n", 9);  // no text-mode translation, embedded NULs kept
  spit(dir / "big", big);
  spit(dir / "empty", "");

  auto text = readTextFile(dir / "big");
  REQUIRE(text);
  CHECK(*text == big);
  auto empty = readTextFile(dir / "empty");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("readTextFile reports a failure through errno") {
  TempDir dir;
  errno = 0;
  CHECK_FALSE(readTextFile(dir / "missing"));
  CHECK(errno == ENOENT);
  errno = 0;
  CHECK_FALSE(readTextFile(dir.path()));  // opening works, reading a directory does not
  CHECK(errno == EISDIR);
}
