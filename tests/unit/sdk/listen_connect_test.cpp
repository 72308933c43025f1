// The SDK pieces the ftp plugin's data connections use: cppd::listen() (passive mode) and cppd::connectTCP()
// (active mode).
#include <cppd/connector.hpp>
#include <cppd/error.hpp>
#include <cppd/listening_port.hpp>

#include <arpa/inet.h>

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "unit/support/loopback.hpp"

using loopback::Client;
using loopback::ScriptedFactory;
using loopback::ScriptedProtocol;

namespace {

// A ClientFactory that records what happened to its attempt.
class RecordingClientFactory final : public cppd::ClientFactory {
 public:
  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address&) override {
    built = std::make_shared<ScriptedProtocol>(script);
    return built;
  }
  void clientConnectionFailed(const cppd::Address& destination, const cppd::DisconnectReason& reason) override {
    failedTo = destination;
    failure = reason.message;
    if (onFailed) onFailed();
  }
  loopback::Script script;
  std::shared_ptr<ScriptedProtocol> built;
  std::optional<cppd::Address> failedTo;
  std::string failure;
  std::function<void()> onFailed;
};

}  // namespace

TEST_CASE("listen() accepts connections until stopListening, which leaves accepted connections alone", "[ftp][net]") {
  loopback::CapturedLog log;
  cppd::Reactor reactor;
  {
    auto factory = std::make_shared<ScriptedFactory>();
    factory->script.data = [](ScriptedProtocol& p, std::string_view data) { p.transport().write(data); };
    cppd::ListeningPort port = cppd::listen(cppd::Endpoint::tcp(0, "127.0.0.1"), factory, reactor);
    REQUIRE(port.listening());
    const cppd::Address bound = port.getHost();
    CHECK(bound.port() != 0);
    CHECK(factory->numPorts() == 1);
    loopback::serveWhile(reactor, [&] {
      Client client(bound);
      client.send("ping");
      char buffer[4];
      REQUIRE(::recv(client.fd(), buffer, sizeof buffer, MSG_WAITALL) == 4);
      reactor.callFromThread([&] { port.stopListening(); });
      // Still echoing after the port stopped listening.
      client.send("pong");
      REQUIRE(::recv(client.fd(), buffer, sizeof buffer, MSG_WAITALL) == 4);
      CHECK(std::string(buffer, 4) == "pong");
    });
    CHECK_FALSE(port.listening());
    CHECK(factory->numPorts() == 0);
    CHECK_THROWS(Client(bound));  // refused: nothing listens any more
    CHECK(log->count("ScriptedFactory starting on " + std::to_string(bound.port())) == 1);
    CHECK(log->count("(TCP Port " + std::to_string(bound.port()) + " Closed)") == 1);
    for (auto& p : factory->built) {
      if (p->connected()) p->transport().abortConnection();
    }
    reactor.callLater(std::chrono::milliseconds(0), [&] { reactor.stop(); });
    loopback::runWithDeadline(reactor);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("listen() ignores SIGPIPE unless the program handles it, as a StreamServerService does", "[net]") {
  // A peer that hangs up makes the next write raise SIGPIPE, whose default action would kill a program that
  // embeds the SDK without the runner (which ignores it at start-up).
  struct sigaction saved {};
  REQUIRE(::sigaction(SIGPIPE, nullptr, &saved) == 0);
  ::signal(SIGPIPE, SIG_DFL);
  struct sigaction after {};
  cppd::Reactor reactor;
  {
    cppd::ListeningPort port =
        cppd::listen(cppd::Endpoint::tcp(0, "127.0.0.1"), std::make_shared<ScriptedFactory>(), reactor);
    ::sigaction(SIGPIPE, nullptr, &after);
    port.stopListening();
  }
  ::sigaction(SIGPIPE, &saved, nullptr);
  CHECK(after.sa_handler == SIG_IGN);
  REQUIRE(reactor.tryClose());
}

TEST_CASE("A quiet factory's port and life leave no line in the log", "[ftp][net]") {
  loopback::CapturedLog log;
  cppd::Reactor reactor;
  {
    auto factory = std::make_shared<ScriptedFactory>();
    factory->setNoisy(false);
    cppd::ListeningPort port = cppd::listen(cppd::Endpoint::tcp(0, "127.0.0.1"), factory, reactor);
    REQUIRE(port.listening());
    port.stopListening();
    CHECK(factory->numPorts() == 0);
    CHECK(log->count("ScriptedFactory") == 0);
    CHECK(log->count("Closed)") == 0);
    reactor.callLater(std::chrono::milliseconds(0), [&] { reactor.stop(); });
    loopback::runWithDeadline(reactor);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("connectTCP connects to a loopback server and the protocol talks to it", "[ftp][net]") {
  loopback::CapturedLog log;
  cppd::Reactor reactor;
  {
    loopback::Server server(reactor);
    server.factory->script.made = [](ScriptedProtocol& p) {
      p.transport().write("hello");
      p.transport().loseConnection();
    };
    server.start();
    auto client = std::make_shared<RecordingClientFactory>();
    client->script.lost = [&reactor](ScriptedProtocol&, const cppd::DisconnectReason&) { reactor.stop(); };
    cppd::Connector connector = cppd::connectTCP("127.0.0.1", server.address().port(), client,
                                                 std::chrono::seconds(10), reactor);
    CHECK(connector.connecting());
    CHECK(connector.getDestination() == cppd::Address::ipv4("127.0.0.1", server.address().port()));
    loopback::runWithDeadline(reactor);
    CHECK_FALSE(connector.connecting());
    REQUIRE(client->built);
    CHECK(client->built->received == "hello");
    CHECK_FALSE(client->failedTo);
    CHECK(client->numPorts() == 0);
    server.stop();
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("connectTCP reports a refused connection through clientConnectionFailed, later", "[ftp][net]") {
  loopback::CapturedLog log;
  cppd::Reactor reactor;
  std::uint16_t closedPort = 0;
  {
    auto probe = std::make_shared<ScriptedFactory>();
    cppd::ListeningPort port = cppd::listen(cppd::Endpoint::tcp(0, "127.0.0.1"), probe, reactor);
    closedPort = port.getHost().port();
  }
  auto client = std::make_shared<RecordingClientFactory>();
  client->onFailed = [&reactor] { reactor.stop(); };
  cppd::connectTCP("127.0.0.1", closedPort, client, std::chrono::seconds(10), reactor);
  CHECK_FALSE(client->failedTo);  // never inside the call
  loopback::runWithDeadline(reactor);
  REQUIRE(client->failedTo);
  CHECK(client->failure == "connect to IPv4Address(TCP, '127.0.0.1', " + std::to_string(closedPort) +
                               ") failed: connection refused (ECONNREFUSED).");
  CHECK_FALSE(client->built);
  REQUIRE(reactor.tryClose());
}

TEST_CASE("stopConnecting abandons an attempt and reports it, and connectTCP refuses host names", "[ftp][net]") {
  cppd::Reactor reactor;
  auto client = std::make_shared<RecordingClientFactory>();
  client->onFailed = [&reactor] { reactor.stop(); };
  auto factory = std::make_shared<ScriptedFactory>();
  cppd::ListeningPort port = cppd::listen(cppd::Endpoint::tcp(0, "127.0.0.1"), factory, reactor);
  // Stopped before the loop ever saw the socket become writable: the connection is never handed over.
  cppd::Connector connector = cppd::connectTCP("127.0.0.1", port.getHost().port(), client, std::chrono::seconds(10),
                                               reactor);
  connector.stopConnecting();
  CHECK_FALSE(connector.connecting());
  loopback::runWithDeadline(reactor);
  REQUIRE(client->failedTo);
  CHECK(client->failure.find("(ECANCELED)") != std::string::npos);
  CHECK_FALSE(client->built);
  port.stopListening();
  for (auto& p : factory->built) {
    if (p->connected()) p->transport().abortConnection();
  }
  reactor.callLater(std::chrono::milliseconds(0), [&] { reactor.stop(); });
  loopback::runWithDeadline(reactor);
  CHECK_THROWS_AS(cppd::connectTCP("localhost", 21, client, std::chrono::seconds(1), reactor), cppd::UsageError);
  REQUIRE(reactor.tryClose());
}

namespace {

// Answers every connection with its peer as the SDK saw it at accept, then closes.
class PeerEcho final : public cppd::Protocol {
 public:
  void connectionMade() override {
    transport().write(transport().getPeer().toString());
    transport().loseConnection();
  }
};

class PeerEchoFactory final : public cppd::Factory {
 public:
  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address&) override { return std::make_shared<PeerEcho>(); }
};

// What the server says about a client connecting from source (any 127.0.0.0/8 address is on the loopback).
std::string peerSeenFrom(const char* source, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  REQUIRE(::inet_pton(AF_INET, source, &local.sin_addr) == 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(port);
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) == 0);
  socklen_t length = sizeof local;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0);
  std::string answer;
  char buffer[128];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return answer + " from port " + std::to_string(ntohs(local.sin_port));
}

}  // namespace

TEST_CASE("An accepted IPv4 peer reads as inet_ntop writes it, for one-, two- and three-digit bytes", "[net]") {
  cppd::Reactor reactor;
  {
    cppd::ListeningPort port =
        cppd::listen(cppd::Endpoint::tcp(0, "127.0.0.1"), std::make_shared<PeerEchoFactory>(), reactor);
    const std::uint16_t portNumber = port.getHost().port();
    loopback::serveWhile(reactor, [&] {
      for (const char* source : {"127.0.0.1", "127.10.200.3", "127.255.0.99", "127.1.23.255", "127.100.9.10"}) {
        const std::string seen = peerSeenFrom(source, portNumber);
        const std::string prefix = std::string("IPv4Address(TCP, '") + source + "', ";
        CHECK(seen.substr(0, prefix.size()) == prefix);
        const std::size_t close = seen.find(") from port ");
        REQUIRE(close != std::string::npos);
        CHECK(seen.substr(prefix.size(), close - prefix.size()) == seen.substr(close + 12));
      }
    });
    reactor.callLater(std::chrono::milliseconds(0), [&] {
      port.stopListening();
      reactor.stop();
    });
    loopback::runWithDeadline(reactor);
  }
  REQUIRE(reactor.tryClose());
}
