// How a StreamServerService's stop reaches its connections: stopRequested when the stop begins (by default the
// connection is lost), stopDeadline when the runner's time for the stop is up.
#include <cppd/stream_server_service.hpp>

#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "unit/support/loopback.hpp"

using loopback::Client;
using loopback::ScriptedProtocol;
using loopback::Server;

namespace {

// Runs the loop until the server has made n connections.
void runUntilConnected(cppd::Reactor& reactor, Server& server, std::size_t n) {
  server.factory->script.made = [&reactor, &server, n](ScriptedProtocol&) {
    if (server.factory->built.size() == n) reactor.stop();
  };
  loopback::runWithDeadline(reactor);
}

}  // namespace

TEST_CASE("stopService tells every connection stopRequested once, and waits for a protocol that stays to close",
          "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.stopRequested = [](ScriptedProtocol& p) { p.transport().write("finishing\n"); };
    server.start();
    std::string received;
    std::thread client([&, address = server.address()] {
      Client c(address);
      c.send("work\n");
      received = c.readAll();
    });
    runUntilConnected(reactor, server, 1);
    const cppd::Completion stop = server.service.stopService();
    server.service.stopService();  // a second stop asks nobody again
    ScriptedProtocol& protocol = *server.factory->built[0];
    CHECK(protocol.stopsRequested == 1);
    // The protocol stays: the stop waits for it, and it closes when its work is done.
    reactor.callLater(std::chrono::milliseconds(50), [&] {
      CHECK_FALSE(stop.fired());
      protocol.transport().write("done\n");
      protocol.transport().loseConnection();
    });
    loopback::runUntil(reactor, stop);
    client.join();
    CHECK(received == "finishing\ndone\n");
    CHECK(protocol.stopsRequested == 1);
    CHECK(protocol.deadlines == 0);
    REQUIRE(protocol.lost);
    CHECK(protocol.lost->clean);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("stopDeadline gives the connections still open a last word before the close, only after stopService",
          "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.stopRequested = [](ScriptedProtocol&) {};  // an idle session that goes on
    server.factory->script.stopDeadline = [](ScriptedProtocol& p) {
      p.transport().write("421 bye\r\n");
      p.transport().loseConnection();
    };
    server.start();
    std::string first;
    std::string second;
    std::thread clients([&, address = server.address()] {
      Client a(address);
      Client b(address);
      first = a.readAll();
      second = b.readAll();
    });
    runUntilConnected(reactor, server, 2);
    server.service.stopDeadline();  // not stopping yet: nobody is told
    CHECK(server.factory->built[0]->deadlines == 0);
    const cppd::Completion stop = server.service.stopService();
    CHECK_FALSE(stop.fired());
    server.service.stopDeadline();
    server.service.stopDeadline();  // once per connection
    loopback::runUntil(reactor, stop);
    clients.join();
    CHECK(first == "421 bye\r\n");
    CHECK(second == "421 bye\r\n");
    for (const auto& protocol : server.factory->built) {
      CHECK(protocol->stopsRequested == 1);
      CHECK(protocol->deadlines == 1);
    }
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("A connection that closed itself is not told of the stop's deadline", "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.stopRequested = [](ScriptedProtocol& p) {
      p.transport().write(std::string(4 << 20, 'x'));  // more than the socket takes while the client waits
      p.transport().loseConnection();
    };
    server.start();
    std::promise<void> deadlineGiven;
    std::size_t received = 0;
    std::thread client([&, address = server.address()] {
      Client c(address);
      deadlineGiven.get_future().wait();
      received = c.readAll().size();
    });
    runUntilConnected(reactor, server, 1);
    const cppd::Completion stop = server.service.stopService();
    server.service.stopDeadline();
    deadlineGiven.set_value();
    loopback::runUntil(reactor, stop);
    client.join();
    CHECK(server.factory->built[0]->deadlines == 0);
    CHECK(received == 4u << 20);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("A stopRequested that throws aborts its connection and is logged; the stop still completes", "[net]") {
  loopback::CapturedLog log;
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.stopRequested = [](ScriptedProtocol&) { throw std::runtime_error("no way"); };
    server.start();
    std::thread client([address = server.address()] { Client(address).readAll(); });
    runUntilConnected(reactor, server, 1);
    loopback::runUntil(reactor, server.service.stopService());
    client.join();
    REQUIRE(server.factory->built[0]->lost);
    CHECK_FALSE(server.factory->built[0]->lost->clean);
    CHECK(log->count("Unhandled error in stopRequested: no way") == 1);
  }
  REQUIRE(reactor.tryClose());
}
