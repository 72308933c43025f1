#include "plugin/trusted_directory.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cppd/error.hpp>
#include <filesystem>
#include <string>

#include "posix/directory_entry.hpp"
#include "plugin/plugin_file.hpp"
#include "unit/support/runner_test_support.hpp"

using cppd::Error;
using cppd::ErrorKind;
using cppd::runner::openTrustedDirectory;
using cppd::runner::PluginFile;
using cppd::runner::TrustPolicy;
using cppd::test::spit;
using cppd::test::TempDir;

namespace {

TrustPolicy asRunning() { return TrustPolicy{::geteuid(), std::nullopt}; }

// The message of the cppd::Error that opening path throws, with its kind.
std::string refusal(const std::string& path, ErrorKind expected = ErrorKind::permission) {
  try {
    openTrustedDirectory(path, asRunning());
  } catch (const Error& e) {
    CHECK(e.kind() == expected);
    return e.what();
  }
  return "(opened)";
}

}  // namespace

TEST_CASE("A trusted directory is walked from / and held open", "[plugin][trust]") {
  TempDir dir;
  std::filesystem::create_directories(dir / "a/b");
  ::chmod((dir / "a").c_str(), 0755);
  ::chmod((dir / "a/b").c_str(), 0755);
  ::chmod(dir.path().c_str(), 0755);
  auto opened = openTrustedDirectory(dir / "a/./b/", asRunning());
  CHECK(opened.path == std::filesystem::canonical(dir / "a/b").string());
  struct stat held {}, named {};
  REQUIRE(::fstat(opened.fd.get(), &held) == 0);
  REQUIRE(::stat((dir / "a/b").c_str(), &named) == 0);
  CHECK(held.st_ino == named.st_ino);
}

TEST_CASE("An ancestor others can write is refused by name, the plugin directory itself too", "[plugin][trust]") {
  TempDir dir;
  std::filesystem::create_directories(dir / "shared/plugins");
  ::chmod(dir.path().c_str(), 0755);
  ::chmod((dir / "shared").c_str(), 0777);
  ::chmod((dir / "shared/plugins").c_str(), 0755);
  const std::string shared = std::filesystem::canonical(dir / "shared").string();
  CHECK(refusal(dir / "shared/plugins") ==
        "its ancestor directory " + shared + " is writable by everyone (mode 0777) and has no sticky bit, so "
        "another user could swap the directories below it; fix with chmod o-w " + shared + " (or chmod +t " +
        shared + ")");
  ::chmod((dir / "shared").c_str(), 01777);
  CHECK(refusal(dir / "shared/plugins") == "(opened)");
  CHECK(refusal(dir / "shared").rfind("it is writable by everyone (mode 1777)", 0) == 0);
}

TEST_CASE("A missing plugin directory is noInput, a file is not a directory", "[plugin][trust]") {
  TempDir dir;
  spit(dir / "file", "");
  CHECK(refusal(dir / "missing", ErrorKind::noInput) == "No such file or directory");
  CHECK(refusal(dir / "file", ErrorKind::noInput) == "not a directory");
}

TEST_CASE("A plugin file is opened in its checked directory and refused as a symlink or FIFO", "[plugin][trust]") {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  spit(dir / "real.so", "x");
  ::chmod((dir / "real.so").c_str(), 0644);
  REQUIRE(::symlink((dir / "real.so").c_str(), (dir / "link.so").c_str()) == 0);
  REQUIRE(::mkfifo((dir / "fifo.so").c_str(), 0644) == 0);
  auto opened = openTrustedDirectory(dir.path(), asRunning());
  auto file = PluginFile::open(opened, "real.so", asRunning());
  CHECK(file.path() == opened.path + "/real.so");
  CHECK(file.loadPath() == "/proc/self/fd/" + std::to_string(file.fd()));
  CHECK_THROWS_WITH(PluginFile::open(opened, "link.so", asRunning()),
                    Catch::Matchers::StartsWith("it is a symbolic link; cppd loads only regular files"));
  CHECK_THROWS_WITH(PluginFile::open(opened, "fifo.so", asRunning()), "not a regular file");  // and no hang
}
