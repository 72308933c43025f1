#include <cppd/directory_jail.hpp>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>
#include <cppd/posix/io.hpp>
#include <cppd/posix/unique_fd.hpp>

#include "unit/support/temp_dir.hpp"

namespace {

using Resolver = cppd::DirectoryJail::Resolver;

// A served root inside a temporary directory, with a secret file next to it (outside the root).
struct Tree {
  Tree() {
    std::filesystem::create_directories(root + "/pub/sub");
    std::ofstream(root + "/pub/file.txt") << "public";
    std::ofstream(base + "/secret.txt") << "secret";
    std::filesystem::create_symlink(base + "/secret.txt", root + "/pub/absolute-out");
    std::filesystem::create_symlink("../../secret.txt", root + "/pub/relative-out");
    std::filesystem::create_symlink(base, root + "/updir");
    std::filesystem::create_symlink("file.txt", root + "/pub/inside");
  }
  cppd::test::TempDir tmp;
  std::string base = tmp.path();
  std::string root = base + "/root";
};

// What open() gives: the file's content, or "errno:N".
std::string read(const cppd::DirectoryJail& jail, const std::string& name, int flags = O_RDONLY) {
  int error = 0;
  const cppd::posix::UniqueFd fd = jail.open(name, flags, error);
  if (!fd) return "errno:" + std::to_string(error);
  std::string content;
  error = cppd::posix::readAll(fd.get(), content, 64);
  return error == 0 ? content : "errno:" + std::to_string(error);
}

std::string err(int error) { return "errno:" + std::to_string(error); }

}  // namespace

TEST_CASE("A directory jail opens names beneath its root and refuses every way out", "[sdk][jail]") {
  Tree tree;
  const Resolver resolver = GENERATE(Resolver::automatic, Resolver::componentWalk);
  const cppd::DirectoryJail jail(tree.root, resolver);
  CHECK(jail.path() == std::filesystem::canonical(tree.root).string());
  CHECK(read(jail, "pub/file.txt") == "public");
  CHECK(read(jail, "/pub//./file.txt") == "public");
  CHECK(read(jail, "../secret.txt") == err(ENOENT));  // ".." is refused, never interpreted
  CHECK(read(jail, "pub/../../secret.txt") == err(ENOENT));
  CHECK(read(jail, std::string("pub/file.txt\0x", 14)) == err(ENOENT));
  CHECK(read(jail, "missing") == err(ENOENT));
  if (jail.followsSymlinks()) {
    CHECK(read(jail, "pub/inside") == "public");
    CHECK(read(jail, "pub/absolute-out") == err(EXDEV));
    CHECK(read(jail, "pub/relative-out") == err(EXDEV));
    CHECK(read(jail, "updir/secret.txt") == err(EXDEV));
  } else {
    CHECK(resolver == Resolver::componentWalk);
    CHECK(read(jail, "pub/inside") == err(ELOOP));  // the walk follows no symlink at all
    CHECK(read(jail, "pub/absolute-out") == err(ELOOP));
    CHECK(read(jail, "updir/secret.txt") == err(ELOOP));
    CHECK(read(jail, "updir", O_PATH) == err(ELOOP));
  }
  CHECK(read(jail, "pub/inside", O_RDONLY | O_NOFOLLOW) == err(ELOOP));
}

TEST_CASE("A directory jail opens the parent of an entry for the *at calls", "[sdk][jail]") {
  Tree tree;
  const Resolver resolver = GENERATE(Resolver::automatic, Resolver::componentWalk);
  const cppd::DirectoryJail jail(tree.root, resolver);
  std::string name;
  int error = 0;
  const cppd::posix::UniqueFd parent = jail.openParent("/pub/new.txt", name, error);
  REQUIRE(parent);
  CHECK(name == "new.txt");
  CHECK(cppd::posix::UniqueFd(::openat(parent.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644)));
  CHECK(std::filesystem::exists(tree.root + "/pub/new.txt"));
  CHECK_FALSE(jail.openParent("/", name, error));
  CHECK(error == EINVAL);
  CHECK_FALSE(jail.openParent("/updir/planted", name, error));
  CHECK((error == EXDEV || error == ELOOP));
  CHECK_FALSE(jail.openParent("/missing/x", name, error));
  CHECK(error == ENOENT);
}

TEST_CASE("A directory jail says whether a name beneath it is a directory, never outside", "[sdk][jail]") {
  Tree tree;
  ::mkfifo((tree.root + "/pub/fifo").c_str(), 0600);  // O_PATH: looking at a FIFO must not block
  const Resolver resolver = GENERATE(Resolver::automatic, Resolver::componentWalk);
  const cppd::DirectoryJail jail(tree.root, resolver);
  CHECK(jail.isDirectory(""));
  CHECK(jail.isDirectory("pub/sub"));
  CHECK_FALSE(jail.isDirectory("pub/file.txt"));
  CHECK_FALSE(jail.isDirectory("pub/fifo"));
  CHECK_FALSE(jail.isDirectory("missing"));
  CHECK_FALSE(jail.isDirectory("updir"));  // a directory, but outside (or, for the walk, behind a symlink)
  CHECK_FALSE(jail.isDirectory("pub/.."));
}

TEST_CASE("A directory jail that cannot be opened names the directory and the reason", "[sdk][jail]") {
  Tree tree;
  CHECK_THROWS_WITH(cppd::DirectoryJail(tree.base + "/nope"),
                    "open directory " + tree.base + "/nope: No such file or directory");
  CHECK_THROWS_WITH(cppd::DirectoryJail(tree.base + "/secret.txt"),
                    "open directory " + tree.base + "/secret.txt: Not a directory");
  int error = 0;
  CHECK_FALSE(cppd::DirectoryJail::tryOpen(tree.base + "/nope", error));
  CHECK(error == ENOENT);
}

TEST_CASE("A directory jail keeps working through its descriptor when the root is renamed", "[sdk][jail]") {
  Tree tree;
  const cppd::DirectoryJail jail(tree.root);
  std::filesystem::rename(tree.root, tree.base + "/moved");
  CHECK(read(jail, "pub/file.txt") == "public");
}

// The attack of a hostile local user: a directory inside the root is exchanged, again and again, with a symlink
// to the directory holding the secret. Not one open may return the secret, in either resolver.
TEST_CASE("A directory jail never escapes while a directory is swapped with a symlink out", "[sdk][jail][race]") {
  Tree tree;
  std::filesystem::create_directories(tree.root + "/swap");
  std::ofstream(tree.root + "/swap/secret.txt") << "decoy";
  std::filesystem::create_symlink(tree.base, tree.root + "/swap-link");
  const Resolver resolver = GENERATE(Resolver::automatic, Resolver::componentWalk);
  const cppd::DirectoryJail jail(tree.root, resolver);
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    const std::string a = tree.root + "/swap", b = tree.root + "/swap-link";
    while (!stop) ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE);
  });
  int escapes = 0, decoys = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  for (int i = 0; i < 200000 && std::chrono::steady_clock::now() < deadline; ++i) {
    const std::string got = read(jail, i % 2 ? "swap/secret.txt" : "swap-link/secret.txt");
    escapes += got == "secret";
    decoys += got == "decoy";
  }
  stop = true;
  swapper.join();
  CHECK(escapes == 0);
  CHECK(decoys > 0);  // the race really ran: the real directory was reached under both names
}
