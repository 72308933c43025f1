#pragma once

// An in-memory ITransport (Twisted's StringTransport) for driving a protocol without a connection: it records
// what the protocol writes and whether it closed (or half-closed) the connection, and never buffers (whenDrained
// runs at once).

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <cppd/address.hpp>
#include <cppd/transport.hpp>

namespace cppd::test {

class FakeTransport final : public ITransport {
 public:
  void write(std::string_view data) override { value += data; }
  void writeShared(std::shared_ptr<const std::string> data) override { value += *data; }
  void writeSequence(const std::vector<std::string_view>& pieces) override {
    for (auto piece : pieces) value += piece;
  }
  void loseConnection() override { disconnecting = true; }
  void loseWriteConnection() override { writeClosed = true; }
  void abortConnection() override { aborted = true; }
  Address getPeer() const override { return peer; }
  Address getHost() const override { return host; }
  std::size_t bufferedBytes() const override { return 0; }
  void whenDrained(std::function<void()> callback) override { callback(); }
  bool connected() const override { return !disconnecting && !aborted && !writeClosed; }
  bool reading() const { return !disconnecting && !aborted; }  // a half-closed connection still reads

  std::string value;  // everything written, in order
  bool disconnecting = false;
  bool writeClosed = false;  // half-closed: the peer has been sent end of file
  bool aborted = false;
  Address peer = Address::ipv4("127.0.0.1", 40000);
  Address host = Address::ipv4("127.0.0.1", 10000);
};

}  // namespace cppd::test
