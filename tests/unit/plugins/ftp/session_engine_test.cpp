// FtpSession's command engine driven through cppd::testing::StringTransport: commands one per loop iteration, and none
// while the client does not read its replies.
#include "ftp_session.hpp"
#include "jail.hpp"

#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/metrics.hpp>
#include <cppd/reactor.hpp>
#include <cppd/testing/string_transport.hpp>

namespace {

// How often needle occurs in what the session wrote.
std::size_t count(const cppd::testing::StringTransport& transport, const std::string& needle) {
  const std::string& output = transport.value();
  std::size_t n = 0;
  for (auto at = output.find(needle); at != std::string::npos; at = output.find(needle, at + 1)) ++n;
  return n;
}

// Replies the client has not read, more than a session lets wait before it takes another command.
void clientStopsReading(cppd::testing::StringTransport& transport) {
  transport.stallPeer();
  transport.write(std::string(ftp::FtpSession::kMaxBacklog + 1, '.'));
}

// One loop iteration: the calls posted so far run (the session's next command among them), then run() returns.
void pass(cppd::Reactor& reactor) {
  reactor.callFromThread([&reactor] { reactor.stop(); });
  reactor.run();
}

std::shared_ptr<ftp::FtpConfig> config() {
  auto config = std::make_shared<ftp::FtpConfig>();
  config->jail = ftp::openServedRoot("/");
  config->idleTimeout = std::chrono::milliseconds(0);
  return config;
}

}  // namespace

TEST_CASE("An FTP session runs pipelined commands one per loop iteration", "[ftp]") {
  cppd::Reactor reactor;
  cppd::testing::StringTransport transport(cppd::Address::ipv4("127.0.0.1", 40000),
                                           cppd::Address::ipv4("127.0.0.1", 2121));
  {
    auto session = std::make_shared<ftp::FtpSession>(config(), reactor, nullptr);
    transport.connect(*session);
    transport.receive("NOOP\r\nNOOP\r\nNOOP\r\n");
    CHECK(count(transport, "200 NOOP ok.") == 1);
    pass(reactor);
    CHECK(count(transport, "200 NOOP ok.") == 2);
    pass(reactor);
    CHECK(count(transport, "200 NOOP ok.") == 3);
    CHECK(session->idle());
    transport.disconnect();
  }
  CHECK(reactor.tryClose());
}

TEST_CASE("An FTP session takes no command while its replies are unsent, and drops a client that keeps sending",
          "[ftp]") {
  cppd::Reactor reactor;
  cppd::testing::StringTransport transport(cppd::Address::ipv4("127.0.0.1", 40000),
                                           cppd::Address::ipv4("127.0.0.1", 2121));
  {
    auto session = std::make_shared<ftp::FtpSession>(config(), reactor, nullptr);
    transport.connect(*session);
    clientStopsReading(transport);
    transport.receive("FEAT\r\nNOOP\r\n");
    for (int i = 0; i < 5; ++i) pass(reactor);
    CHECK(count(transport, "211 End") == 0);
    CHECK_FALSE(session->idle());
    transport.unstallPeer();  // the client reads: the commands run again
    for (int i = 0; i < 5; ++i) pass(reactor);
    CHECK(count(transport, "211 End") == 1);
    CHECK(count(transport, "200 NOOP ok.") == 1);
    clientStopsReading(transport);
    transport.receive("NOOP\r\n");
    CHECK_FALSE(transport.aborted());
    transport.receive(std::string(ftp::FtpSession::kMaxInput, 'x'));  // more than may wait
    CHECK(transport.aborted());
    transport.disconnect(cppd::DisconnectReason{false, "aborted"});
  }
  CHECK(reactor.tryClose());
}

TEST_CASE("FTP logins are counted by result", "[ftp][metrics]") {
  const auto logins = [](const std::string& result) {
    for (const auto& r : cppd::detail::readMetrics()) {
      if (r.name == "ftp_logins_total" && r.labels.size() == 1 && r.labels[0].second == result) return r.count;
    }
    return std::uint64_t{0};
  };
  const std::uint64_t ok = logins("ok");
  const std::uint64_t failed = logins("failed");
  cppd::Reactor reactor;
  cppd::testing::StringTransport transport(cppd::Address::ipv4("127.0.0.1", 40000),
                                           cppd::Address::ipv4("127.0.0.1", 2121));
  {
    auto settings = config();
    settings->anonymous = true;
    auto session = std::make_shared<ftp::FtpSession>(settings, reactor, nullptr);
    transport.connect(*session);
    transport.receive("USER anonymous\r\n");
    pass(reactor);
    transport.receive("PASS guest@example.org\r\n");
    pass(reactor);
    CHECK(count(transport, "230 ") == 1);
    transport.disconnect();
  }
  CHECK(logins("ok") == ok + 1);
  CHECK(logins("failed") == failed);
  CHECK(reactor.tryClose());
}

TEST_CASE("A stopping server's FTP session goes on once logged in, refuses a new login, and hears 421 at the deadline",
          "[ftp]") {
  cppd::Reactor reactor;
  cppd::testing::StringTransport transport(cppd::Address::ipv4("127.0.0.1", 40000),
                                           cppd::Address::ipv4("127.0.0.1", 2121));
  {
    auto settings = config();
    settings->anonymous = true;
    auto session = std::make_shared<ftp::FtpSession>(settings, reactor, nullptr);
    transport.connect(*session);
    transport.receive("USER anonymous\r\nPASS guest@example.org\r\n");
    pass(reactor);
    REQUIRE(count(transport, "230 ") == 1);
    session->stopRequested();
    transport.receive("NOOP\r\n");
    pass(reactor);
    CHECK(count(transport, "200 NOOP ok.") == 1);
    CHECK_FALSE(transport.disconnecting());
    session->stopDeadline();
    CHECK(count(transport, "421 Service shutting down: closing control connection.\r\n") == 1);
    CHECK(transport.disconnecting());
    transport.disconnect();
  }
  {
    cppd::testing::StringTransport other(cppd::Address::ipv4("127.0.0.1", 40001),
                                         cppd::Address::ipv4("127.0.0.1", 2121));
    auto session = std::make_shared<ftp::FtpSession>(config(), reactor, nullptr);
    other.connect(*session);
    other.receive("USER anonymous\r\n");  // a login in progress goes on
    pass(reactor);
    session->stopRequested();
    CHECK_FALSE(other.disconnecting());
    other.receive("USER someone\r\n");  // a new one does not
    pass(reactor);
    CHECK(count(other, "421 Service shutting down: not accepting new logins.\r\n") == 1);
    CHECK(other.disconnecting());
    other.disconnect();
  }
  {
    cppd::testing::StringTransport idle(cppd::Address::ipv4("127.0.0.1", 40002),
                                        cppd::Address::ipv4("127.0.0.1", 2121));
    auto session = std::make_shared<ftp::FtpSession>(config(), reactor, nullptr);
    idle.connect(*session);
    session->stopRequested();  // no login: nothing to finish
    CHECK(count(idle, "421 Service shutting down: closing control connection.\r\n") == 1);
    CHECK(idle.disconnecting());
    idle.disconnect();
  }
  CHECK(reactor.tryClose());
}
