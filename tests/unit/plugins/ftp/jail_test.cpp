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

namespace {

// A served root inside a temporary directory, with a secret file next to it (outside the root).
struct JailTree {
  JailTree() {
    char pattern[] = "/tmp/cppd-ftp-jail-XXXXXX";
    base = ::mkdtemp(pattern);
    root = base + "/root";
    std::filesystem::create_directories(root + "/pub/sub");
    std::ofstream(root + "/pub/file.txt") << "public";
    std::ofstream(base + "/secret.txt") << "secret";
    std::filesystem::create_symlink(base + "/secret.txt", root + "/pub/escape");
    std::filesystem::create_symlink(base, root + "/updir");
    std::filesystem::create_symlink("file.txt", root + "/pub/inside");
  }
  ~JailTree() { std::filesystem::remove_all(base); }
  std::string base;
  std::string root;
};

}  // namespace

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

TEST_CASE("The served root: names leading outside answer as missing ones, and a bad root is a usage error", "[ftp]") {
  JailTree tree;
  const auto jail = ftp::openServedRoot(tree.root);
  int error = 0;
  CHECK(jail->open("/pub/inside", O_RDONLY, error));
  CHECK_FALSE(jail->open("/pub/escape", O_RDONLY, error));
  CHECK(ftp::clientError(error) == ENOENT);
  CHECK_FALSE(jail->open("/updir/secret.txt", O_RDONLY, error));
  CHECK(ftp::clientError(error) == ENOENT);
  std::string name;
  CHECK_FALSE(ftp::openEntryParent(*jail, "/", name, error));
  CHECK(error == EACCES);  // the root itself is never created, removed or renamed
  CHECK_FALSE(ftp::openEntryParent(*jail, "/updir/x", name, error));
  CHECK(error == ENOENT);
  CHECK_THROWS_WITH(ftp::openServedRoot(tree.base + "/nope"),
                    Catch::Contains(tree.base + "/nope: No such file or directory"));
  CHECK_THROWS_WITH(ftp::openServedRoot(tree.base + "/secret.txt"), Catch::Contains("secret.txt: not a directory"));
  CHECK_THROWS_AS(ftp::openServedRoot(tree.base + "/nope"), cppd::UsageError);
}
