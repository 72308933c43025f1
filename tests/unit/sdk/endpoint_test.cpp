#include <cppd/endpoint.hpp>

#include <string>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

using cppd::AddressFamily;
using cppd::Endpoint;
using cppd::EndpointType;

namespace {

// The message of the UsageError parse() throws for description, or "" if it does not throw.
std::string parseError(const std::string& description, const std::string& defaultInterface = "") {
  try {
    Endpoint::parse(description, defaultInterface);
  } catch (const cppd::UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("tcp:PORT listens on every IPv4 interface with a large default backlog", "[net]") {
  const Endpoint endpoint = Endpoint::parse("tcp:8000");
  CHECK(endpoint.type() == EndpointType::tcp);
  CHECK(endpoint.port() == 8000);
  CHECK(endpoint.interface().empty());
  CHECK(endpoint.backlog() == Endpoint::defaultBacklog);
  CHECK(Endpoint::defaultBacklog >= 1024);
  CHECK(endpoint.toString() == "tcp:8000");
}

TEST_CASE("tcp takes interface and backlog as keywords in any order", "[net]") {
  const Endpoint endpoint = Endpoint::parse("tcp:backlog=7:8000:interface=127.0.0.1");
  CHECK(endpoint.port() == 8000);
  CHECK(endpoint.interface() == "127.0.0.1");
  CHECK(endpoint.backlog() == 7);
  CHECK(endpoint.toString() == "tcp:8000:interface=127.0.0.1:backlog=7");
}

TEST_CASE("tcp takes port, interface and backlog positionally, as Twisted's parser does", "[net]") {
  const Endpoint endpoint = Endpoint::parse("tcp:8000:127.0.0.1:20");
  CHECK(endpoint.port() == 8000);
  CHECK(endpoint.interface() == "127.0.0.1");
  CHECK(endpoint.backlog() == 20);
  CHECK(Endpoint::parse("tcp:port=80").port() == 80);
}

TEST_CASE("The endpoint type is case-insensitive", "[net]") {
  CHECK(Endpoint::parse("TCP:80").type() == EndpointType::tcp);
  CHECK(Endpoint::parse("Unix:/tmp/s").type() == EndpointType::unixSocket);
}

TEST_CASE("tcp accepts port 0 (any free port) and 65535, and a host name as interface", "[net]") {
  CHECK(Endpoint::parse("tcp:0").port() == 0);
  CHECK(Endpoint::parse("tcp:65535").port() == 65535);
  CHECK(Endpoint::parse("tcp:80:interface=localhost").interface() == "localhost");
}

TEST_CASE("tcp6 needs backslash-escaped colons in an IPv6 interface", "[net]") {
  const Endpoint endpoint = Endpoint::parse("tcp6:8080:interface=\\:\\:1");
  CHECK(endpoint.type() == EndpointType::tcp6);
  CHECK(endpoint.interface() == "::1");
  CHECK(endpoint.toString() == "tcp6:8080:interface=\\:\\:1");
  CHECK(Endpoint::parse(endpoint.toString()) == endpoint);
}

TEST_CASE("A bare number is tcp on the caller's default interface", "[net]") {
  const Endpoint endpoint = Endpoint::parse("10000", "localhost");
  CHECK(endpoint.type() == EndpointType::tcp);
  CHECK(endpoint.port() == 10000);
  CHECK(endpoint.interface() == "localhost");
  CHECK(Endpoint::parse("10000").interface().empty());
}

TEST_CASE("A bare number with an IPv6 default interface is tcp6", "[net]") {
  const Endpoint endpoint = Endpoint::parse("10000", "::1");
  CHECK(endpoint.type() == EndpointType::tcp6);
  CHECK(endpoint.interface() == "::1");
}

TEST_CASE("unix:PATH takes an octal mode and a backlog", "[net]") {
  const Endpoint endpoint = Endpoint::parse("unix:/run/poetry.sock:mode=660:backlog=5");
  CHECK(endpoint.type() == EndpointType::unixSocket);
  CHECK(endpoint.path() == "/run/poetry.sock");
  REQUIRE(endpoint.mode());
  CHECK(*endpoint.mode() == 0660);
  CHECK(endpoint.backlog() == 5);
  CHECK(endpoint.toString() == "unix:/run/poetry.sock:mode=660:backlog=5");
  CHECK_FALSE(Endpoint::parse("unix:/x").mode());
}

TEST_CASE("A backslash makes ':', '=' and '\\' part of a UNIX path", "[net]") {
  const Endpoint endpoint = Endpoint::parse("unix:/tmp/a\\:b\\=c\\\\d");
  CHECK(endpoint.path() == "/tmp/a:b=c\\d");
  CHECK(endpoint.toString() == "unix:/tmp/a\\:b\\=c\\\\d");
  CHECK(Endpoint::parse(endpoint.toString()) == endpoint);
}

TEST_CASE("After '=' only ':' separates, so a value may contain '='", "[net]") {
  CHECK(Endpoint::parse("systemd:domain=INET:name=a=b").name() == std::optional<std::string>("a=b"));
}

TEST_CASE("systemd endpoints choose the passed socket by index or by name", "[net]") {
  const Endpoint byIndex = Endpoint::parse("systemd:domain=INET6:index=2");
  CHECK(byIndex.type() == EndpointType::systemd);
  CHECK(byIndex.domain() == AddressFamily::ipv6);
  CHECK(byIndex.index() == std::optional<unsigned>(2));
  CHECK_FALSE(byIndex.name());
  CHECK(byIndex.toString() == "systemd:domain=INET6:index=2");

  const Endpoint byName = Endpoint::parse("systemd:name=web:domain=UNIX");
  CHECK(byName.domain() == AddressFamily::unixSocket);
  CHECK(byName.name() == std::optional<std::string>("web"));
  CHECK_FALSE(byName.index());
  CHECK(byName.toString() == "systemd:domain=UNIX:name=web");
  CHECK(Endpoint::parse("systemd:domain=INET:index=0").domain() == AddressFamily::ipv4);
}

TEST_CASE("Every canonical description parses back to the same endpoint", "[net]") {
  for (const char* text : {"tcp:1", "tcp:80:interface=127.0.0.1:backlog=9", "tcp6:0", "unix:/a:mode=600",
                           "systemd:domain=INET:index=0", "systemd:domain=UNIX:name=x\\:y"}) {
    const Endpoint endpoint = Endpoint::parse(text);
    CHECK(endpoint.toString() == text);
    CHECK(Endpoint::parse(endpoint.toString()) == endpoint);
  }
}

TEST_CASE("Endpoints built directly match their parsed forms", "[net]") {
  CHECK(Endpoint::tcp(8000, "127.0.0.1") == Endpoint::parse("tcp:8000:interface=127.0.0.1"));
  CHECK(Endpoint::unixSocket("/s", 0600) == Endpoint::parse("unix:/s:mode=600"));
}

TEST_CASE("A bad port is an error naming the string and the port", "[net]") {
  CHECK(parseError("tcp:abc") == "invalid endpoint 'tcp:abc': port 'abc' is not a number 0-65535");
  CHECK(parseError("tcp:65536") == "invalid endpoint 'tcp:65536': port '65536' is not a number 0-65535");
  CHECK(parseError("tcp:-1") == "invalid endpoint 'tcp:-1': port '-1' is not a number 0-65535");
  CHECK(parseError("tcp:port=") == "invalid endpoint 'tcp:port=': port '' is not a number 0-65535");
  CHECK(parseError("99999") == "invalid endpoint '99999': port '99999' is not a number 0-65535");
}

TEST_CASE("A missing port or path is an error", "[net]") {
  CHECK(parseError("tcp") == "invalid endpoint 'tcp': missing port (tcp:PORT)");
  CHECK(parseError("tcp6:interface=\\:\\:1") == "invalid endpoint 'tcp6:interface=\\:\\:1': missing port (tcp6:PORT)");
  CHECK(parseError("unix") == "invalid endpoint 'unix': missing socket path (unix:PATH)");
}

TEST_CASE("An empty description or an unknown type is an error", "[net]") {
  CHECK(parseError("") ==
        "invalid endpoint '': the description is empty (expected tcp:PORT, tcp6:PORT, unix:PATH or systemd:...)");
  CHECK(parseError("ssl:443") ==
        "invalid endpoint 'ssl:443': unknown endpoint type 'ssl' (expected tcp, tcp6, unix or systemd)");
  CHECK(parseError("port=80") ==
        "invalid endpoint 'port=80': it must start with the endpoint type (tcp, tcp6, unix or systemd)");
}

TEST_CASE("Unknown, repeated, nameless and surplus parameters are errors", "[net]") {
  CHECK(parseError("tcp:80:bogus=1") ==
        "invalid endpoint 'tcp:80:bogus=1': unknown parameter 'bogus' for tcp (expected port, interface, backlog)");
  CHECK(parseError("tcp:80:backlog=1:backlog=2") ==
        "invalid endpoint 'tcp:80:backlog=1:backlog=2': parameter 'backlog' given twice");
  CHECK(parseError("tcp:80:port=81") == "invalid endpoint 'tcp:80:port=81': parameter 'port' given twice");
  CHECK(parseError("tcp:80:=x") == "invalid endpoint 'tcp:80:=x': parameter '=x' has no name");
  CHECK(parseError("tcp:80:127.0.0.1:5:extra") == "invalid endpoint 'tcp:80:127.0.0.1:5:extra': unexpected argument 'extra'");
  CHECK(parseError("tcp:80:") == "invalid endpoint 'tcp:80:': argument 2 is empty");
  CHECK(parseError("unix:/s:lockfile=1") ==
        "invalid endpoint 'unix:/s:lockfile=1': unknown parameter 'lockfile' for unix (expected address, mode, backlog)");
}

TEST_CASE("A bad backlog is an error", "[net]") {
  CHECK(parseError("tcp:80:backlog=0") == "invalid endpoint 'tcp:80:backlog=0': backlog '0' is not a number 1-65535");
  CHECK(parseError("tcp:80:backlog=x") == "invalid endpoint 'tcp:80:backlog=x': backlog 'x' is not a number 1-65535");
  CHECK(parseError("unix:/s:backlog=99999999") ==
        "invalid endpoint 'unix:/s:backlog=99999999': backlog '99999999' is not a number 1-65535");
}

TEST_CASE("An interface of the wrong family or shape is an error", "[net]") {
  CHECK(parseError("tcp:80:interface=\\:\\:1") ==
        "invalid endpoint 'tcp:80:interface=\\:\\:1': interface '::1' is an IPv6 address; use tcp6:");
  CHECK(parseError("tcp6:80:interface=127.0.0.1") ==
        "invalid endpoint 'tcp6:80:interface=127.0.0.1': interface '127.0.0.1' is an IPv4 address; use tcp:");
  CHECK(parseError("tcp:80:interface=a b") ==
        "invalid endpoint 'tcp:80:interface=a b': interface 'a b' is not an IPv4 address or a host name");
  CHECK(parseError("80", "no such/host") ==
        "invalid endpoint '80': interface 'no such/host' is not an IPv4 address or a host name");
}

TEST_CASE("An interface given empty is an error that says how to name every interface, not every interface",
          "[net]") {
  CHECK(parseError("tcp:10000:interface=") ==
        "invalid endpoint 'tcp:10000:interface=': interface= is empty; name the address to listen on "
        "(interface=127.0.0.1), write interface=0.0.0.0 for every IPv4 interface, or leave interface= out");
  CHECK(parseError("tcp:interface=:10000") != "");
  CHECK(parseError("tcp:10000:interface=:backlog=5") != "");
  CHECK(parseError("tcp6:10000:interface=") ==
        "invalid endpoint 'tcp6:10000:interface=': interface= is empty; name the address to listen on "
        "(interface=\\:\\:1), write interface=\\:\\: for every IPv6 interface, or leave interface= out");
  // What the message suggests is accepted.
  CHECK(Endpoint::parse("tcp:10000:interface=0.0.0.0").interface() == "0.0.0.0");
  CHECK(Endpoint::parse("tcp6:10000:interface=\\:\\:").interface() == "::");
}

TEST_CASE("A bad mode or an over-long socket path is an error", "[net]") {
  CHECK(parseError("unix:/s:mode=9") == "invalid endpoint 'unix:/s:mode=9': mode '9' is not an octal number 0-777");
  CHECK(parseError("unix:/s:mode=1777") ==
        "invalid endpoint 'unix:/s:mode=1777': mode '1777' is not an octal number 0-777");
  const std::string longPath = "unix:/" + std::string(200, 'x');
  CHECK(parseError(longPath) == "invalid endpoint '" + longPath + "': socket path is 201 bytes long; the limit is 107");
}

TEST_CASE("A systemd endpoint needs a domain and exactly one of index and name", "[net]") {
  CHECK(parseError("systemd:index=0") == "invalid endpoint 'systemd:index=0': missing domain=INET, INET6 or UNIX");
  CHECK(parseError("systemd:domain=IPX:index=0") ==
        "invalid endpoint 'systemd:domain=IPX:index=0': domain 'IPX' is not INET, INET6 or UNIX");
  CHECK(parseError("systemd:domain=INET") ==
        "invalid endpoint 'systemd:domain=INET': specify exactly one of index=N or name=FDNAME");
  CHECK(parseError("systemd:domain=INET:index=0:name=a") ==
        "invalid endpoint 'systemd:domain=INET:index=0:name=a': specify exactly one of index=N or name=FDNAME");
  CHECK(parseError("systemd:domain=INET:index=x") ==
        "invalid endpoint 'systemd:domain=INET:index=x': index 'x' is not a number 0-9999");
  CHECK(parseError("systemd:domain=INET:name=") == "invalid endpoint 'systemd:domain=INET:name=': name= is empty");
  CHECK(parseError("systemd:3") == "invalid endpoint 'systemd:3': unexpected argument '3'");
}

TEST_CASE("A trailing lone backslash is an error", "[net]") {
  CHECK(parseError("unix:/tmp/x\\") ==
        "invalid endpoint 'unix:/tmp/x\\': it ends with a lone backslash (write \\\\ for a backslash)");
}

TEST_CASE("Endpoint errors are usage errors", "[net]") {
  CHECK_THROWS_AS(Endpoint::parse("tcp:x"), cppd::UsageError);
  try {
    Endpoint::parse("tcp:x");
  } catch (const cppd::Error& e) {
    CHECK(e.kind() == cppd::ErrorKind::usage);
  }
}
