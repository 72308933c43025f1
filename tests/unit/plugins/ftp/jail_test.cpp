#include "jail.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

#include "unit/support/temp_dir.hpp"

// The jail itself (escapes, symlinks, races) is cppd::DirectoryJail's, tested in tests/unit/sdk; what is ftp's own
// is the virtual path arithmetic, what a client is told, and the --root error.

TEST_CASE("Virtual paths are normalised and never climb above the virtual root", "[ftp]") {
  using ftp::resolveVirtual;
  CHECK(resolveVirtual("/", "") == "/");
  CHECK(resolveVirtual("/pub", "file.txt") == "/pub/file.txt");
  CHECK(resolveVirtual("/pub", "/file.txt") == "/file.txt");
  CHECK(resolveVirtual("/pub", "..") == "/");
  CHECK(resolveVirtual("/pub", "../../../../etc/passwd") == "/etc/passwd");
  CHECK(resolveVirtual("/", "//a/./b//c/") == "/a/b/c");
  CHECK(resolveVirtual("/a/b", "../c/./../d") == "/a/d");
  CHECK(resolveVirtual("/", "%2e%2e/x") == "/%2e%2e/x");  // no percent decoding: a literal name
  CHECK_FALSE(resolveVirtual("/", std::string("a\0b", 3)));
}

TEST_CASE("A client is told of names outside the root exactly as of missing ones", "[ftp]") {
  CHECK(ftp::clientError(EXDEV) == ENOENT);   // leads out of the root
  CHECK(ftp::clientError(ELOOP) == ENOENT);   // a symlink that is not followed
  CHECK(ftp::clientError(ENOENT) == ENOENT);
  CHECK(ftp::clientError(EACCES) == EACCES);  // the rest as open(2) gave it
  CHECK(ftp::clientError(ENOTDIR) == ENOTDIR);
}

TEST_CASE("The served root is never an entry, and a bad root is a usage error", "[ftp]") {
  cppd::test::TempDir dir;
  const std::string& base = dir.path();
  std::ofstream(base + "/file") << "x";
  const auto jail = ftp::openServedRoot(base);
  int error = 0;
  std::string name;
  CHECK_FALSE(ftp::openEntryParent(*jail, "/", name, error));
  CHECK(error == EACCES);  // the root itself is never created, removed or renamed
  CHECK_FALSE(ftp::openEntryParent(*jail, "/missing/x", name, error));
  CHECK(error == ENOENT);
  CHECK(ftp::openEntryParent(*jail, "/new", name, error));
  CHECK(name == "new");
  CHECK_THROWS_WITH(ftp::openServedRoot(base + "/nope"), Catch::Contains(base + "/nope: No such file or directory"));
  CHECK_THROWS_WITH(ftp::openServedRoot(base + "/file"), Catch::Contains("file: not a directory"));
  CHECK_THROWS_AS(ftp::openServedRoot(base + "/nope"), cppd::UsageError);
}
