// FtpSession's command engine driven through an in-memory transport: commands one per loop iteration, and none
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

#include <cppd/reactor.hpp>
#include <cppd/transport.hpp>

namespace {

// Records what is written; while `stalled`, everything written counts as unsent and whenDrained waits.
class SlowTransport final : public cppd::ITransport {
 public:
  void write(std::string_view data) override {
    output += data;
    if (stalled) unsent += data.size();
  }
  void writeShared(std::shared_ptr<const std::string> data) override { write(*data); }
  void writeSequence(const std::vector<std::string_view>& pieces) override {
    for (auto piece : pieces) write(piece);
  }
  void loseConnection() override { open = false; }
  void abortConnection() override {
    open = false;
    aborted = true;
  }
  cppd::Address getPeer() const override { return cppd::Address::ipv4("127.0.0.1", 40000); }
  cppd::Address getHost() const override { return cppd::Address::ipv4("127.0.0.1", 2121); }
  std::size_t bufferedBytes() const override { return unsent; }
  void whenDrained(std::function<void()> callback) override {
    if (unsent == 0) return callback();
    waiting.push_back(std::move(callback));
  }
  bool connected() const override { return open; }

  void read() {
    stalled = false;
    unsent = 0;
    auto callbacks = std::move(waiting);
    waiting.clear();
    for (auto& callback : callbacks) callback();
  }
  std::size_t count(const std::string& needle) const {
    std::size_t n = 0;
    for (auto at = output.find(needle); at != std::string::npos; at = output.find(needle, at + 1)) ++n;
    return n;
  }

  std::string output;
  bool stalled = false;
  bool open = true;
  bool aborted = false;
  std::size_t unsent = 0;
  std::vector<std::function<void()>> waiting;
};

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
  SlowTransport transport;
  {
    auto session = std::make_shared<ftp::FtpSession>(config(), reactor, nullptr);
    session->makeConnection(transport);
    session->dataReceived("NOOP\r\nNOOP\r\nNOOP\r\n");
    CHECK(transport.count("200 NOOP ok.") == 1);
    pass(reactor);
    CHECK(transport.count("200 NOOP ok.") == 2);
    pass(reactor);
    CHECK(transport.count("200 NOOP ok.") == 3);
    CHECK(session->idle());
    session->connectionLost(cppd::DisconnectReason{});
  }
  CHECK(reactor.tryClose());
}

TEST_CASE("An FTP session takes no command while its replies are unsent, and drops a client that keeps sending",
          "[ftp]") {
  cppd::Reactor reactor;
  SlowTransport transport;
  {
    auto session = std::make_shared<ftp::FtpSession>(config(), reactor, nullptr);
    session->makeConnection(transport);
    transport.stalled = true;
    transport.unsent = ftp::FtpSession::kMaxBacklog + 1;  // the client has not read
    session->dataReceived("FEAT\r\nNOOP\r\n");
    for (int i = 0; i < 5; ++i) pass(reactor);
    CHECK(transport.count("211 End") == 0);
    CHECK_FALSE(session->idle());
    transport.read();  // the client reads: the commands run again
    for (int i = 0; i < 5; ++i) pass(reactor);
    CHECK(transport.count("211 End") == 1);
    CHECK(transport.count("200 NOOP ok.") == 1);
    transport.stalled = true;
    transport.unsent = ftp::FtpSession::kMaxBacklog + 1;
    session->dataReceived("NOOP\r\n");
    CHECK_FALSE(transport.aborted);
    session->dataReceived(std::string(ftp::FtpSession::kMaxInput, 'x'));  // more than may wait
    CHECK(transport.aborted);
    session->connectionLost(cppd::DisconnectReason{false, "aborted"});
  }
  CHECK(reactor.tryClose());
}
