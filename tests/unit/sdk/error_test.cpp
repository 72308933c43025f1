#include <cerrno>
#include <string>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

TEST_CASE("systemError names the operation, the target and the errno text", "[error]") {
  auto e = cppd::systemError("open pidfile", "/run/cppd.pid", EACCES);
  CHECK(std::string(e.what()) == "open pidfile /run/cppd.pid: Permission denied");
  CHECK(e.kind() == cppd::ErrorKind::permission);
}

TEST_CASE("systemError classifies common errno values", "[error]") {
  CHECK(cppd::systemError("open", "x", ENOENT).kind() == cppd::ErrorKind::noInput);
  CHECK(cppd::systemError("listen", "tcp:80", EADDRINUSE).kind() == cppd::ErrorKind::unavailable);
  CHECK(cppd::systemError("write", "log", ENOSPC).kind() == cppd::ErrorKind::io);
  CHECK(cppd::systemError("fork", "", EAGAIN).kind() == cppd::ErrorKind::os);
}

TEST_CASE("Every error kind maps to its sysexits code", "[error]") {
  using K = cppd::ErrorKind;
  CHECK(cppd::exitCodeFor(K::usage) == 64);
  CHECK(cppd::exitCodeFor(K::data) == 65);
  CHECK(cppd::exitCodeFor(K::noInput) == 66);
  CHECK(cppd::exitCodeFor(K::unavailable) == 69);
  CHECK(cppd::exitCodeFor(K::software) == 70);
  CHECK(cppd::exitCodeFor(K::os) == 71);
  CHECK(cppd::exitCodeFor(K::cantCreate) == 73);
  CHECK(cppd::exitCodeFor(K::io) == 74);
  CHECK(cppd::exitCodeFor(K::alreadyRunning) == 75);
  CHECK(cppd::exitCodeFor(K::permission) == 77);
  CHECK(cppd::exitCodeFor(K::config) == 78);
}

TEST_CASE("A UsageError is an Error of kind usage", "[error]") {
  try {
    throw cppd::UsageError("option --port: 'abc' is not a port number");
  } catch (const cppd::Error& e) {
    CHECK(e.kind() == cppd::ErrorKind::usage);
    CHECK(std::string(e.what()) == "option --port: 'abc' is not a port number");
  }
}
