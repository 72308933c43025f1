// cppd::testing::StringTransport, the installed test double plugin authors drive their protocols with.
#include <cppd/testing/string_transport.hpp>

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/shared_file.hpp>

using cppd::testing::StringTransport;

namespace {

// Greets, echoes each line, closes on "bye"; records what the transport told it.
class Echo final : public cppd::Protocol {
 public:
  void connectionMade() override { transport().write("hi\n"); }
  void dataReceived(std::string_view data) override {
    buffer_ += data;
    for (auto end = buffer_.find('\n'); end != std::string::npos; end = buffer_.find('\n')) {
      const std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      if (line == "bye") {
        transport().loseConnection();
        return;
      }
      transport().writeSequence({line, "\n"});
    }
  }
  void connectionLost(const cppd::DisconnectReason& reason) override {
    lost.push_back(reason.message);
    stillConnected = connected();
  }
  std::vector<std::string> lost;
  bool stillConnected = false;

 private:
  std::string buffer_;
};

}  // namespace

TEST_CASE("StringTransport records writes, feeds input whole or bytewise, and stops reading after a close",
          "[net][testing]") {
  for (std::size_t chunk : {std::size_t{0}, std::size_t{1}}) {
    Echo protocol;
    StringTransport transport;
    transport.connect(protocol);
    CHECK(transport.connected());
    transport.receive("one\ntwo\nbye\nignored\n", chunk);
    CHECK(transport.value() == "hi\none\ntwo\n");
    CHECK(transport.disconnecting());
    CHECK_FALSE(transport.connected());
    CHECK_FALSE(transport.reading());
    transport.clear();
    CHECK(transport.value().empty());
  }
}

TEST_CASE("StringTransport.disconnect calls connectionLost once with the reason and detaches the protocol",
          "[net][testing]") {
  Echo protocol;
  StringTransport transport;
  transport.connect(protocol);
  transport.disconnect(cppd::DisconnectReason{false, "reset"});
  transport.disconnect();
  CHECK(protocol.lost == std::vector<std::string>{"reset"});
  CHECK(protocol.stillConnected);  // the transport is still usable inside connectionLost
  CHECK_FALSE(protocol.connected());
  CHECK_THROWS_AS(protocol.transport(), std::logic_error);
  transport.receive("late\n");
  CHECK(transport.value() == "hi\n");
}

TEST_CASE("StringTransport reports the addresses it was given and records half-close and abort",
          "[net][testing]") {
  Echo protocol;
  StringTransport transport(cppd::Address::ipv6("::1", 5555), cppd::Address::unixSocket("/run/echo.sock"));
  transport.connect(protocol);
  CHECK(protocol.transport().getPeer() == cppd::Address::ipv6("::1", 5555));
  CHECK(protocol.transport().getHost() == cppd::Address::unixSocket("/run/echo.sock"));
  protocol.transport().loseWriteConnection();
  CHECK(transport.writeClosed());
  CHECK_FALSE(transport.connected());
  CHECK(transport.reading());  // a half-closed connection still reads
  protocol.transport().abortConnection();
  CHECK(transport.aborted());
  CHECK_FALSE(transport.reading());
  CHECK(transport.writtenAfterClose() == 0);
  protocol.transport().write("late");
  CHECK(transport.writtenAfterClose() == 4);
}

TEST_CASE("StringTransport models a stalled peer: writes beyond the window stay buffered until it reads",
          "[net][testing]") {
  Echo protocol;
  StringTransport transport;
  transport.connect(protocol);
  int drained = 0;
  protocol.transport().whenDrained([&] { ++drained; });
  CHECK(drained == 1);  // nothing buffered: at once

  transport.stallPeer(4);
  transport.receive("abcdef\n");
  CHECK(transport.bufferedBytes() == 3);
  protocol.transport().whenDrained([&] { ++drained; });
  CHECK(drained == 1);
  CHECK(transport.drainWaiters() == 1);
  transport.peerReads();
  CHECK(drained == 2);
  CHECK(transport.bufferedBytes() == 0);
  transport.receive("0123456\n");  // still stalled, with a fresh window
  CHECK(transport.bufferedBytes() == 4);
  transport.unstallPeer();
  transport.receive("0123456789\n");
  CHECK(transport.bufferedBytes() == 0);
}

TEST_CASE("StringTransport drops the callbacks still waiting for a drain when the connection ends",
          "[net][testing]") {
  Echo protocol;
  StringTransport transport;
  transport.connect(protocol);
  transport.stallPeer();
  transport.receive("x\n");
  bool ran = false;
  protocol.transport().whenDrained([&] { ran = true; });
  transport.disconnect();
  transport.peerReads();
  CHECK_FALSE(ran);
  CHECK(transport.drainWaiters() == 0);
}

TEST_CASE("StringTransport.sendFile appends the file's range in order with the writes", "[net][testing]") {
  char path[] = "/tmp/cppd-string-transport-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "0123456789", 10) == 10);
  ::close(fd);
  auto file = cppd::SharedFile::open(path);
  ::unlink(path);
  Echo protocol;
  StringTransport transport;
  transport.connect(protocol);
  protocol.transport().writeAndSendFile("[", file, 2, 5);
  protocol.transport().write("]");
  CHECK(transport.value() == "hi\n[23456]");
}
