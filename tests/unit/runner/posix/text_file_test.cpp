#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cppd/error.hpp>
#include <string>

#include <catch2/catch.hpp>

#include <cppd/posix/unique_fd.hpp>

#include "unit/support/runner_test_support.hpp"
#include "posix/text_file.hpp"

using cppd::Error;
using cppd::ErrorKind;
using cppd::exitCodeFor;
using cppd::runner::readTextFile;
using cppd::posix::UniqueFd;
using cppd::test::spit;
using cppd::test::TempDir;

TEST_CASE("readTextFile returns a file's bytes exactly, up to the limit") {
  TempDir dir;
  std::string big;
  for (int i = 0; big.size() < 100000; ++i) big += "line " + std::to_string(i) + "\n";
  big += std::string("\0binary\r\n", 9);  // no text-mode translation, embedded NULs kept
  spit(dir / "big", big);
  spit(dir / "empty", "");

  CHECK(readTextFile(dir / "big", "test file") == big);
  CHECK(readTextFile(dir / "big", "test file", big.size()) == big);
  CHECK(readTextFile(dir / "empty", "test file").empty());
}

namespace {

// The error readTextFile throws for path.
Error readError(const std::string& path, std::size_t limit = cppd::runner::textFileLimit) {
  try {
    readTextFile(path, "deployment file", limit);
  } catch (const Error& e) {
    return e;
  }
  FAIL("no error for " << path);
  return Error(ErrorKind::software, "unreachable");
}

}  // namespace

TEST_CASE("readTextFile refuses a file over the limit, naming the file and the limit (exit 78)") {
  TempDir dir;
  const std::string path = dir / "big";
  spit(path, std::string(2000, 'x'));
  const Error e = readError(path, 1024);
  CHECK(std::string(e.what()) ==
        "read deployment file " + path + ": it is larger than the limit of 1024 bytes (1 KiB) for a deployment file");
  CHECK(exitCodeFor(e.kind()) == 78);
}

TEST_CASE("readTextFile refuses anything but a regular file without reading it (exit 66)") {
  TempDir dir;
  const Error zero = readError("/dev/zero");  // would otherwise grow without bound
  CHECK(std::string(zero.what()) ==
        "read deployment file /dev/zero: it is a character device, not a regular file; give the path of a file");
  CHECK(exitCodeFor(zero.kind()) == 66);
  const std::string fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(std::string(readError(fifo).what()).find("it is a FIFO, not a regular file") != std::string::npos);
  CHECK(std::string(readError(dir.path()).what()).find("it is a directory, not a regular file") != std::string::npos);
  CHECK(std::string(readError(dir / "missing").what()) ==
        "read deployment file " + (dir / "missing") + ": No such file or directory");
}

TEST_CASE("readTextFile on a descriptor reports through errno") {
  TempDir dir;
  spit(dir / "five", "12345");
  UniqueFd file(::open((dir / "five").c_str(), O_RDONLY | O_CLOEXEC));
  CHECK(readTextFile(file.get(), 5) == "12345");
  errno = 0;
  CHECK_FALSE(readTextFile(file.get(), 4));
  CHECK(errno == EFBIG);
  UniqueFd directory(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  errno = 0;
  CHECK_FALSE(readTextFile(directory.get(), 100));
  CHECK(errno == EINVAL);
}
