// The ITransport a protocol gets for a real loopback connection (StreamConnection), driven by a real reactor.
#include <cppd/transport.hpp>

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include <cppd/completion.hpp>
#include <cppd/reactor.hpp>

#include "unit/support/loopback.hpp"

using loopback::Client;
using loopback::ScriptedProtocol;
using loopback::Server;

namespace {

std::shared_ptr<const std::string> bigBuffer(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + i % 26);
  return std::make_shared<const std::string>(std::move(data));
}

// The kernel's tcp_info goes on past glibc's struct; linux/tcp.h, which has the rest, cannot be included beside
// netinet/tcp.h.
struct TcpInfoWithCounts {
  tcp_info base;
  std::uint64_t pacingRate, maxPacingRate, bytesAcked, bytesReceived;
  std::uint32_t segmentsOut, segmentsIn;
};
static_assert(offsetof(TcpInfoWithCounts, segmentsIn) == 140, "tcp_info's layout (linux/tcp.h)");

// Segments the socket has received so far. Runs on the client's thread, so it throws rather than REQUIREs.
std::uint32_t segmentsReceived(int fd) {
  TcpInfoWithCounts info{};
  socklen_t length = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) throw std::runtime_error("getsockopt TCP_INFO");
  if (length < offsetof(TcpInfoWithCounts, segmentsIn) + sizeof info.segmentsIn) {
    throw std::runtime_error("TCP_INFO without segment counts (a kernel before 4.2)");
  }
  return info.segmentsIn;
}

}  // namespace

TEST_CASE("A reply written in connectionMade and the close reach the client in one segment with the FIN", "[net]") {
  const bool shared = GENERATE(false, true);
  const std::string reply(3000, 'p');
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.made = [&](ScriptedProtocol& p) {
      if (shared) {
        p.transport().writeShared(std::make_shared<const std::string>(reply));
      } else {
        p.transport().write(reply);
      }
      CHECK(p.transport().bufferedBytes() == reply.size());  // held until connectionMade returns
      p.transport().loseConnection();
    };
    server.start();
    std::string received;
    std::uint32_t segments = 0;
    loopback::serveWhile(reactor, [&] {
      Client client(server.address());
      received = client.readAll();
      segments = segmentsReceived(client.fd());
    });
    server.stop();
    CHECK(received == reply);
    CHECK(segments == 2);  // the SYN-ACK, then the reply with the FIN (three if the FIN came on its own)
    REQUIRE(server.factory->built.size() == 1);
    REQUIRE(server.factory->built[0]->lost);
    CHECK(server.factory->built[0]->lost->clean);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("A shared reply is held in connectionMade whatever its size, and arrives whole before the close", "[net]") {
  // A copy is held up to 16 KiB (holding copies it); a shared buffer costs nothing to hold, so a megabyte poem too
  // leaves with MSG_MORE and its FIN on the last segment.
  const std::string reply(1 << 20, 'p');
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.made = [&](ScriptedProtocol& p) {
      p.transport().writeShared(std::make_shared<const std::string>(reply));
      CHECK(p.transport().bufferedBytes() == reply.size());  // held: nothing has been sent yet
      p.transport().loseConnection();
    };
    server.start();
    std::string received;
    loopback::serveWhile(reactor, [&] { received = Client(server.address()).readAll(); });
    server.stop();
    CHECK(received.size() == reply.size());
    CHECK(received == reply);
    REQUIRE(server.factory->built.size() == 1);
    REQUIRE(server.factory->built[0]->lost);
    CHECK(server.factory->built[0]->lost->clean);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("A reply held during connectionMade goes out when it returns, and the connection stays open", "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.made = [](ScriptedProtocol& p) { p.transport().write("220 ready\r\n"); };
    server.factory->script.data = [](ScriptedProtocol& p, std::string_view data) {
      p.transport().write(data);
      p.transport().loseConnection();
    };
    server.start();
    std::string greeting;
    std::string rest;
    loopback::serveWhile(reactor, [&] {
      Client client(server.address());
      greeting = client.readAll(11);  // arrives before the client says anything
      client.send("bye");
      rest = client.readAll();
    });
    server.stop();
    CHECK(greeting == "220 ready\r\n");
    CHECK(rest == "bye");
    REQUIRE(server.factory->built.size() == 1);
    CHECK(server.factory->built[0]->received == "bye");
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("abortConnection in connectionMade drops the held reply", "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.made = [](ScriptedProtocol& p) {
      p.transport().write("never sent");
      p.transport().abortConnection();
    };
    server.start();
    std::string received = "unset";
    loopback::serveWhile(reactor, [&] { received = Client(server.address()).readAll(); });
    server.stop();
    CHECK(received.empty());
    REQUIRE(server.factory->built.size() == 1);
    REQUIRE(server.factory->built[0]->lost);
    CHECK_FALSE(server.factory->built[0]->lost->clean);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("Every kind of write reaches the client in order, and loseConnection closes after them", "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.made = [](ScriptedProtocol& p) {
      p.transport().write("a");
      p.transport().writeSequence({"b", "", "cd"});
      p.transport().writeShared(std::make_shared<const std::string>("ef"));
      for (char c : std::string("ghij")) p.transport().write(std::string_view(&c, 1));
      p.transport().loseConnection();
    };
    server.start();
    std::string received;
    loopback::serveWhile(reactor, [&] { received = Client(server.address()).readAll(); });
    server.stop();
    CHECK(received == "abcdefghij");
    REQUIRE(server.factory->built.size() == 1);
    REQUIRE(server.factory->built[0]->lost);
    CHECK(server.factory->built[0]->lost->clean);
    CHECK_FALSE(server.factory->built[0]->connected());
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("Input arrives intact whether the client sends it whole or one byte at a time", "[net]") {
  const std::size_t chunk = GENERATE(0u, 1u);
  const std::string message = "The quick brown fox\njumps over the lazy dog\n";
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.data = [](ScriptedProtocol& p, std::string_view data) { p.transport().write(data); };
    server.start();
    std::string echoed;
    loopback::serveWhile(reactor, [&] {
      Client client(server.address());
      client.send(message, chunk);
      client.shutdownWrite();
      echoed = client.readAll();
    });
    server.stop();
    CHECK(echoed == message);
    REQUIRE(server.factory->built.size() == 1);
    CHECK(server.factory->built[0]->received == message);
    REQUIRE(server.factory->built[0]->lost);
    CHECK(server.factory->built[0]->lost->clean);
    CHECK(server.factory->built[0]->lost->message == "Connection was closed cleanly.");
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("writeShared queues a reference, not a copy, and whenDrained fires once a slow reader has it all", "[net]") {
  const auto poem = bigBuffer(32 * 1024 * 1024);
  cppd::Reactor reactor;
  {
    Server server(reactor);
    std::size_t bufferedAtStart = 0;
    std::size_t bufferedOnceSending = 0;
    long referencesWhileQueued = 0;
    bool drained = false;
    server.factory->script.made = [&](ScriptedProtocol& p) {
      p.transport().writeShared(poem);
      bufferedAtStart = p.transport().bufferedBytes();  // held until connectionMade returns
      p.transport().whenDrained([&] { drained = true; });  // sends what is held first
      bufferedOnceSending = p.transport().bufferedBytes();
      referencesWhileQueued = poem.use_count();
      p.transport().loseConnection();
    };
    server.start();
    std::string received;
    loopback::serveWhile(reactor, [&] { received = Client(server.address()).readAll(); });
    server.stop();
    CHECK(received.size() == poem->size());
    CHECK(received == *poem);
    CHECK(bufferedAtStart == poem->size());
    CHECK(bufferedOnceSending > 0);  // the kernel took part at once, the rest is queued
    CHECK(bufferedOnceSending < poem->size());
    CHECK(referencesWhileQueued == 2);  // the test's and the queued write's: no copy was made
    CHECK(drained);
    CHECK(poem.use_count() == 1);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("whenDrained runs at once when nothing is buffered", "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    bool ranInside = false;
    server.factory->script.made = [&](ScriptedProtocol& p) {
      p.transport().whenDrained([&] { ranInside = true; });
      CHECK(ranInside);
      p.transport().loseConnection();
    };
    server.start();
    loopback::serveWhile(reactor, [&] { Client(server.address()).readAll(); });
    server.stop();
    CHECK(ranInside);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("abortConnection drops queued data and reports a non-clean loss", "[net]") {
  const auto poem = bigBuffer(32 * 1024 * 1024);
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.made = [&](ScriptedProtocol& p) {
      p.transport().writeShared(poem);
      p.transport().abortConnection();
      CHECK_FALSE(p.transport().connected());
    };
    server.start();
    std::size_t received = 0;
    loopback::serveWhile(reactor, [&] {
      Client client(server.address());
      try {
        received = client.readAll().size();
      } catch (const std::runtime_error&) {
        received = 0;  // a reset is a fine way for the client to learn of the abort
      }
    });
    server.stop();
    CHECK(received < poem->size());
    REQUIRE(server.factory->built[0]->lost);
    CHECK_FALSE(server.factory->built[0]->lost->clean);
    CHECK(server.factory->built[0]->lost->message == "Connection was aborted locally using abortConnection().");
    CHECK(poem.use_count() == 1);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("Writes after loseConnection are ignored", "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.made = [](ScriptedProtocol& p) {
      p.transport().write("kept");
      p.transport().loseConnection();
      CHECK_FALSE(p.transport().connected());
      p.transport().write("dropped");
      p.transport().writeShared(std::make_shared<const std::string>("dropped"));
    };
    server.start();
    std::string received;
    loopback::serveWhile(reactor, [&] { received = Client(server.address()).readAll(); });
    server.stop();
    CHECK(received == "kept");
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("loseWriteConnection sends the answer and end of file, and keeps reading until the client closes", "[net]") {
  // A server refusing a request it has not read to the end: with loseConnection, the unread 4 MiB would make the
  // kernel send a reset, and the client could lose the answer. Half-closed, the answer and EOF arrive intact.
  const std::string request(4 * 1024 * 1024, 'x');
  cppd::Reactor reactor;
  {
    Server server(reactor);
    cppd::Completion lost;
    server.factory->script.lost = [&lost](ScriptedProtocol&, const cppd::DisconnectReason&) { lost.succeed(); };
    server.factory->script.data = [](ScriptedProtocol& p, std::string_view) {
      if (!p.transport().connected()) return;  // input after the half-close: read and dropped
      p.transport().write("refused\n");
      p.transport().loseWriteConnection();
      p.transport().write("ignored");  // later writes are ignored
      CHECK_FALSE(p.transport().connected());
    };
    server.start();
    std::string answer;
    loopback::serveWhile(reactor, [&] {
      Client client(server.address());
      client.send(request);  // completes only because the server goes on reading
      answer = client.readAll();
    });
    CHECK(answer == "refused\n");
    // The client has closed: the server reads the rest of the request, then its end of file ends the connection.
    loopback::runUntil(reactor, lost);
    REQUIRE(server.factory->built.size() == 1);
    CHECK(server.factory->built[0]->received.size() == request.size());
    CHECK(server.factory->built[0]->lost->clean);
    CHECK(server.factory->built[0]->lost->message == "Connection was closed cleanly.");
    server.stop();
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("loseWriteConnection from connectionMade reads, so the client's close ends the connection", "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    cppd::Completion lost;
    server.factory->script.made = [](ScriptedProtocol& p) {
      p.transport().write("bye\n");
      p.transport().loseWriteConnection();
    };
    server.factory->script.lost = [&lost](ScriptedProtocol&, const cppd::DisconnectReason&) { lost.succeed(); };
    server.start();
    std::string answer;
    loopback::serveWhile(reactor, [&] {
      Client client(server.address());
      client.send("late input");
      answer = client.readAll();
    });
    CHECK(answer == "bye\n");
    // The client has closed: its end of file alone ends the connection, with no stop to help.
    REQUIRE(server.factory->built.size() == 1);
    loopback::runUntil(reactor, lost);
    CHECK(server.factory->built[0]->lost->clean);
    CHECK(server.factory->built[0]->lost->message == "Connection was closed cleanly.");
    CHECK(server.factory->built[0]->received == "late input");
    server.stop();
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("getPeer and getHost name both ends of the connection", "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    cppd::Address peer;
    cppd::Address host;
    server.factory->script.made = [&](ScriptedProtocol& p) {
      peer = p.transport().getPeer();
      host = p.transport().getHost();
      p.transport().loseConnection();
    };
    server.start();
    const cppd::Address listening = server.address();
    std::uint16_t clientPort = 0;
    loopback::serveWhile(reactor, [&] {
      Client client(server.address());
      sockaddr_in local{};
      socklen_t length = sizeof local;
      ::getsockname(client.fd(), reinterpret_cast<sockaddr*>(&local), &length);
      clientPort = ntohs(local.sin_port);
      client.readAll();
    });
    server.stop();
    CHECK(peer == cppd::Address::ipv4("127.0.0.1", clientPort));
    CHECK(host == listening);
    CHECK(peer.toString() == "IPv4Address(TCP, '127.0.0.1', " + std::to_string(clientPort) + ")");
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("An exception from dataReceived is logged in the connection's context and aborts it", "[net]") {
  loopback::CapturedLog log;
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.data = [](ScriptedProtocol&, std::string_view) { throw std::runtime_error("boom"); };
    server.start();
    loopback::serveWhile(reactor, [&] {
      Client client(server.address());
      client.send("x");
      try {
        client.readAll();
      } catch (const std::runtime_error&) {
        // reset by the abort
      }
    });
    server.stop();
    CHECK(log->contains("ScriptedProtocol,0,127.0.0.1", "Unhandled error in dataReceived: boom"));
    REQUIRE(server.factory->built[0]->lost);
    CHECK_FALSE(server.factory->built[0]->lost->clean);
    CHECK(server.factory->built[0]->lost->message == "dataReceived failed: boom");
  }
  REQUIRE(reactor.tryClose());
}
