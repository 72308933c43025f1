#include <cppd/address.hpp>

#include <catch2/catch.hpp>

using cppd::Address;
using cppd::AddressFamily;

TEST_CASE("Address prints an IPv4 address the way Twisted does", "[net]") {
  const Address address = Address::ipv4("127.0.0.1", 58208);
  CHECK(address.toString() == "IPv4Address(TCP, '127.0.0.1', 58208)");
  CHECK(address.family() == AddressFamily::ipv4);
  CHECK(address.isTcp());
  CHECK(address.host() == "127.0.0.1");
  CHECK(address.port() == 58208);
  CHECK(address.path().empty());
}

TEST_CASE("Address prints an IPv6 address the way Twisted does", "[net]") {
  const Address address = Address::ipv6("::1", 8080);
  CHECK(address.toString() == "IPv6Address(TCP, '::1', 8080)");
  CHECK(address.family() == AddressFamily::ipv6);
  CHECK(address.isTcp());
}

TEST_CASE("Address prints a UNIX socket path, and None for an unnamed socket", "[net]") {
  CHECK(Address::unixSocket("/run/poetry.sock").toString() == "UNIXAddress('/run/poetry.sock')");
  CHECK(Address::unixSocket("").toString() == "UNIXAddress(None)");
  CHECK_FALSE(Address::unixSocket("/x").isTcp());
  CHECK(Address::unixSocket("/x").port() == 0);
}

TEST_CASE("A default Address is IPv4 0.0.0.0 port 0", "[net]") {
  CHECK(Address().toString() == "IPv4Address(TCP, '0.0.0.0', 0)");
}

TEST_CASE("Addresses are equal when family, host, port and path are", "[net]") {
  CHECK(Address::ipv4("127.0.0.1", 1) == Address::ipv4("127.0.0.1", 1));
  CHECK_FALSE(Address::ipv4("127.0.0.1", 1) == Address::ipv4("127.0.0.1", 2));
  CHECK_FALSE(Address::ipv4("::1", 1) == Address::ipv6("::1", 1));
  CHECK_FALSE(Address::unixSocket("/a") == Address::unixSocket("/b"));
}
