#include "posix/directory_entry.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "unit/support/runner_test_support.hpp"

using cppd::runner::DirectoryEntry;
using cppd::runner::OwnFileRules;
using cppd::test::slurp;
using cppd::test::spit;
using cppd::test::TempDir;

namespace {

OwnFileRules mine() { return OwnFileRules{{::geteuid()}, false}; }

}  // namespace

TEST_CASE("A directory entry creates its file exclusively and knows it still names it", "[runner]") {
  TempDir dir;
  DirectoryEntry entry(dir / "own");
  auto opened = entry.open(O_RDWR | O_CREAT, 0600, mine());
  REQUIRE(opened.fd);
  CHECK(opened.created);
  CHECK(entry.names(opened.fd.get()));
  REQUIRE(::rename((dir / "own").c_str(), (dir / "moved").c_str()) == 0);
  CHECK_FALSE(entry.names(opened.fd.get()));
  spit(dir / "own", "");
  auto again = entry.open(O_RDWR | O_CREAT, 0600, mine());
  REQUIRE(again.fd);
  CHECK_FALSE(again.created);
}

TEST_CASE("A directory entry refuses what is not its own file before writing it", "[runner]") {
  TempDir dir;
  spit(dir / "secret", "secret");
  ::chmod((dir / "secret").c_str(), 0600);
  REQUIRE(::link((dir / "secret").c_str(), (dir / "linked").c_str()) == 0);
  REQUIRE(::symlink((dir / "secret").c_str(), (dir / "symlink").c_str()) == 0);
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  auto problem = [&](const char* name, OwnFileRules rules) {
    auto opened = DirectoryEntry(dir / name).open(O_RDWR | O_CREAT | O_TRUNC, 0644, rules);
    CHECK_FALSE(opened.fd);
    return opened.problem;
  };
  CHECK(problem("linked", mine()) == "it has 2 hard links (it may be another file linked in)");
  CHECK(problem("symlink", mine()) == "it is a symbolic link, not a regular file");
  CHECK(problem("fifo", mine()) == "it is a FIFO, not a regular file");
  const uid_t other = ::geteuid() + 1;
  spit(dir / "theirs", "");
  CHECK(problem("theirs", OwnFileRules{{other}, false}) ==
        "it is owned by uid " + std::to_string(::geteuid()) + ", not by uid " + std::to_string(other));
  CHECK(slurp(dir / "secret") == "secret");  // O_TRUNC never reached it
  struct stat st {};
  REQUIRE(::stat((dir / "secret").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("A directory entry may accept a character device such as /dev/null", "[runner]") {
  auto opened = DirectoryEntry("/dev/null").open(O_WRONLY | O_APPEND | O_CREAT, 0644, OwnFileRules{{0}, true});
  CHECK(opened.fd);
  CHECK(DirectoryEntry("/dev/null").open(O_WRONLY, 0644, OwnFileRules{{0}, false}).problem ==
        "it is a character device, not a regular file");
}
