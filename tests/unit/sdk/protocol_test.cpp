#include <cppd/protocol.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/factory.hpp>
#include <cppd/log.hpp>
#include <cppd/testing/string_transport.hpp>

#include "detail/factory_access.hpp"
#include "unit/support/loopback.hpp"

using cppd::testing::StringTransport;

namespace {

// Answers each complete line with its length: the kind of protocol that must cope with any split of the input.
class LineLengths final : public cppd::Protocol {
 public:
  void connectionMade() override { transport().write("hello\n"); }
  void dataReceived(std::string_view data) override {
    buffer_ += data;
    for (auto end = buffer_.find('\n'); end != std::string::npos; end = buffer_.find('\n')) {
      transport().write(std::to_string(end) + "\n");
      buffer_.erase(0, end + 1);
    }
  }
  void connectionLost(const cppd::DisconnectReason& reason) override { lost.push_back(reason.message); }
  std::vector<std::string> lost;

 private:
  std::string buffer_;
};

namespace inner {
class NestedProtocol final : public cppd::Protocol {};
class NestedFactory final : public cppd::Factory {
 public:
  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address&) override { return nullptr; }
  void startFactory() override { ++starts; }
  void stopFactory() override { ++stops; }
  int starts = 0;
  int stops = 0;
};
}  // namespace inner

}  // namespace

TEST_CASE("makeConnection attaches the transport and calls connectionMade", "[net]") {
  LineLengths protocol;
  StringTransport transport;
  CHECK_FALSE(protocol.connected());
  transport.connect(protocol);
  CHECK(protocol.connected());
  CHECK(&protocol.transport() == &transport);
  CHECK(transport.value() == "hello\n");
}

TEST_CASE("A protocol gives the same answers for input fed whole and one byte at a time", "[net]") {
  const std::string input = "one\nthree\n\nsixteen characters\npartial";
  LineLengths whole;
  StringTransport wholeTransport;
  wholeTransport.connect(whole);
  wholeTransport.receive(input);

  LineLengths bytewise;
  StringTransport bytewiseTransport;
  bytewiseTransport.connect(bytewise);
  bytewiseTransport.receive(input, 1);

  CHECK(wholeTransport.value() == "hello\n3\n5\n0\n18\n");
  CHECK(bytewiseTransport.value() == wholeTransport.value());
}

TEST_CASE("transport() throws when the protocol is not connected", "[net]") {
  LineLengths protocol;
  CHECK_THROWS_AS(protocol.transport(), std::logic_error);
  CHECK_THROWS_WITH(protocol.transport(), "LineLengths has no transport (not connected)");
}

TEST_CASE("The default event methods do nothing", "[net]") {
  inner::NestedProtocol protocol;
  StringTransport transport;
  transport.connect(protocol);
  transport.receive("ignored");
  transport.disconnect();
  CHECK(transport.value().empty());
}

TEST_CASE("logPrefix is the class name without namespaces", "[net]") {
  CHECK(inner::NestedProtocol().logPrefix() == "NestedProtocol");
  CHECK(LineLengths().logPrefix() == "LineLengths");
  CHECK(inner::NestedFactory().logPrefix() == "NestedFactory");
}

TEST_CASE("A clean DisconnectReason reads like Twisted's ConnectionDone", "[net]") {
  const cppd::DisconnectReason reason;
  CHECK(reason.clean);
  CHECK(reason.message == "Connection was closed cleanly.");
}

TEST_CASE("A factory starts with its first port and stops after its last, logging both", "[net]") {
  loopback::CapturedLog log;
  inner::NestedFactory factory;
  cppd::detail::FactoryAccess::doStart(factory);
  cppd::detail::FactoryAccess::doStart(factory);
  CHECK(factory.starts == 1);
  CHECK(factory.numPorts() == 2);
  cppd::detail::FactoryAccess::doStop(factory);
  CHECK(factory.stops == 0);
  cppd::detail::FactoryAccess::doStop(factory);
  CHECK(factory.stops == 1);
  cppd::detail::FactoryAccess::doStop(factory);  // one too many: ignored
  CHECK(factory.stops == 1);
  CHECK(log->contains("NestedFactory", "Starting factory NestedFactory"));
  CHECK(log->contains("NestedFactory", "Stopping factory NestedFactory"));
}
