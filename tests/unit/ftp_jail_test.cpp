#include "jail.hpp"

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

TEST_CASE("The jail resolves existing entries inside the root only", "[ftp]") {
  JailTree tree;
  const ftp::Jail jail(tree.root);
  CHECK(jail.root() == std::filesystem::canonical(tree.root).string());
  CHECK(jail.existing("/pub/file.txt").path == jail.root() + "/pub/file.txt");
  CHECK(jail.existing("/pub/inside").path == jail.root() + "/pub/file.txt");
  CHECK(jail.existing("/").path == jail.root());
  CHECK(jail.existing("/pub/escape").error == EACCES);
  CHECK(jail.existing("/updir/secret.txt").error == EACCES);
  CHECK(jail.existing("/updir").error == EACCES);
  CHECK(jail.existing("/missing").error == ENOENT);
}

TEST_CASE("The jail resolves entries to create or remove without following the last component", "[ftp]") {
  JailTree tree;
  const ftp::Jail jail(tree.root);
  CHECK(jail.entry("/pub/escape").path == jail.root() + "/pub/escape");  // DELE removes the link, not the target
  CHECK(jail.entry("/pub/new.txt").path == jail.root() + "/pub/new.txt");
  CHECK(jail.entry("/new").path == jail.root() + "/new");
  CHECK(jail.entry("/").error == EACCES);
  CHECK(jail.entry("/updir/secret.txt").error == EACCES);
  CHECK(jail.entry("/missing/new.txt").error == ENOENT);
}

TEST_CASE("A jail root that is missing or not a directory is a usage error naming it", "[ftp]") {
  JailTree tree;
  CHECK_THROWS_WITH(ftp::Jail(tree.base + "/nope"), Catch::Contains(tree.base + "/nope: No such file or directory"));
  CHECK_THROWS_WITH(ftp::Jail(tree.base + "/secret.txt"), Catch::Contains("secret.txt: not a directory"));
  CHECK_THROWS_AS(ftp::Jail(tree.base + "/nope"), cppd::UsageError);
}

TEST_CASE("The jail's prefix check does not accept a sibling that merely shares the prefix", "[ftp]") {
  JailTree tree;
  std::filesystem::create_directories(tree.base + "/rootkit");
  const ftp::Jail jail(tree.root);
  CHECK_FALSE(jail.contains(jail.root() + "kit"));
  CHECK(jail.contains(jail.root() + "/x"));
  CHECK(jail.contains(jail.root()));
}
