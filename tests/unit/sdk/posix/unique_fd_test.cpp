// cppd::posix::UniqueFd: the one owned descriptor of the runner and the plugins.

#include <cppd/posix/unique_fd.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <catch2/catch.hpp>

namespace {

using cppd::posix::UniqueFd;

bool isOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

int openNull() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

}  // namespace

TEST_CASE("UniqueFd closes what it owns when it goes away", "[posix][unique_fd]") {
  int raw = -1;
  {
    UniqueFd fd(openNull());
    raw = fd.get();
    REQUIRE(fd);
    REQUIRE(isOpen(raw));
  }
  CHECK_FALSE(isOpen(raw));
}

TEST_CASE("UniqueFd holding -1 is empty and closes nothing", "[posix][unique_fd]") {
  UniqueFd none;
  CHECK_FALSE(none);
  CHECK(none.get() == -1);
  UniqueFd failed(-1);
  CHECK_FALSE(failed);
  CHECK(failed.close() == 0);
}

TEST_CASE("UniqueFd::release gives the descriptor away unclosed", "[posix][unique_fd]") {
  int raw = -1;
  {
    UniqueFd fd(openNull());
    raw = fd.release();
    CHECK_FALSE(fd);
  }
  CHECK(isOpen(raw));
  ::close(raw);
}

TEST_CASE("UniqueFd moves ownership and closes the old one on assignment", "[posix][unique_fd]") {
  UniqueFd first(openNull());
  UniqueFd second(openNull());
  const int firstRaw = first.get();
  const int secondRaw = second.get();
  second = std::move(first);
  CHECK_FALSE(first);  // NOLINT(bugprone-use-after-move): the moved-from state is the contract under test
  CHECK(second.get() == firstRaw);
  CHECK_FALSE(isOpen(secondRaw));
  UniqueFd third(std::move(second));
  CHECK(third.get() == firstRaw);
  CHECK(isOpen(firstRaw));
}

TEST_CASE("UniqueFd::reset closes the old descriptor and takes the new one", "[posix][unique_fd]") {
  UniqueFd fd(openNull());
  const int old = fd.get();
  const int fresh = openNull();
  fd.reset(fresh);
  CHECK(fd.get() == fresh);
  if (fresh != old) CHECK_FALSE(isOpen(old));
  fd.reset();
  CHECK_FALSE(fd);
  CHECK_FALSE(isOpen(fresh));
}

TEST_CASE("UniqueFd::close reports the errno of close(2) and holds nothing afterwards", "[posix][unique_fd]") {
  UniqueFd fd(openNull());
  CHECK(fd.close() == 0);
  CHECK_FALSE(fd);
  // A descriptor somebody else already closed: close(2) says EBADF, and it is reported, not retried.
  const int raw = openNull();
  UniqueFd stale(raw);
  ::close(raw);
  CHECK(stale.close() == EBADF);
  CHECK_FALSE(stale);
}
