#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <cppd/address.hpp>
#include <cppd/export.hpp>
#include <cppd/protocol.hpp>
#include <cppd/transport.hpp>

namespace cppd::testing {

/// An in-memory ITransport for testing a protocol without a socket or a loop (Twisted's
/// proto_helpers.StringTransport). It records what the protocol writes and how it asked to close, feeds input to
/// dataReceived, and ends the connection with connectionLost as the SDK's connections do:
///
///     cppd::testing::StringTransport transport;
///     auto protocol = std::make_shared<EchoProtocol>();
///     transport.connect(*protocol);             // makeConnection: connectionMade runs
///     transport.receive("hello\r\n");          // dataReceived
///     CHECK(transport.value() == "hello\r\n");  // everything written, in order
///     CHECK(transport.disconnecting());         // the protocol called loseConnection()
///     transport.disconnect();                   // connectionLost(clean reason), once
///
/// Nothing is ever sent anywhere: write*() append to value(), sendFile() reads the range from the file and
/// appends it, loseConnection()/loseWriteConnection()/abortConnection() only record the request (the test decides
/// when the connection really ends, with disconnect()). After any of them connected() is false; later writes are
/// still recorded and counted in writtenAfterClose(), so a test can assert that a protocol writes nothing after
/// closing (a real connection would drop those bytes).
///
/// A slow peer: stallPeer(window) makes everything written beyond window bytes count in bufferedBytes(), and
/// whenDrained() callbacks wait until peerReads(). Until then (the default) the peer reads at once:
/// bufferedBytes() is 0 and whenDrained() runs its callback inside the call.
///
/// Exceptions thrown by the protocol's event methods reach the caller of connect()/receive()/disconnect()
/// (the SDK's connections log them and abort instead), so a test sees them. The transport must outlive the
/// protocol's use of it. Single-threaded, like the loop it stands in for.
class CPPD_API StringTransport final : public ITransport {
 public:
  /// A transport between peer (the client) and host (the server's listening address).
  explicit StringTransport(Address peer = Address::ipv4("127.0.0.1", 40000),
                           Address host = Address::ipv4("127.0.0.1", 10000));
  ~StringTransport() override;
  StringTransport(const StringTransport&) = delete;
  StringTransport& operator=(const StringTransport&) = delete;

  // The test's side.

  /// Attaches protocol and runs its makeConnection (connectionMade). One protocol per transport.
  void connect(Protocol& protocol);
  /// Delivers data to the protocol's dataReceived in one call, or in pieces of chunk bytes (1: one byte at a
  /// time). Stops early, as a real connection would, once the protocol stops reading (see reading()). Nothing
  /// is delivered to a disconnected protocol.
  void receive(std::string_view data, std::size_t chunk = 0);
  /// Ends the connection: drops the whenDrained() callbacks still waiting, calls connectionLost(reason) once and
  /// detaches the protocol (its transport() throws afterwards). Later calls do nothing.
  void disconnect(const DisconnectReason& reason = {});

  /// Everything the protocol wrote, in order, since the start or the last clear().
  const std::string& value() const noexcept { return value_; }
  /// Forgets what was written so far.
  void clear() noexcept { value_.clear(); }

  /// loseConnection() was called.
  bool disconnecting() const noexcept { return disconnecting_; }
  /// loseWriteConnection() was called (the peer would read end of file; the connection still reads).
  bool writeClosed() const noexcept { return writeClosed_; }
  /// abortConnection() was called.
  bool aborted() const noexcept { return aborted_; }
  /// Bytes written after loseConnection(), loseWriteConnection() or abortConnection(): a real connection drops
  /// them, so a protocol that writes them has lost track of its state.
  std::size_t writtenAfterClose() const noexcept { return writtenAfterClose_; }
  /// The connection still delivers input: not disconnected and neither loseConnection() nor abortConnection()
  /// was called (a half-closed connection still reads).
  bool reading() const noexcept { return protocol_ != nullptr && !disconnecting_ && !aborted_; }

  /// From now on the peer reads only window more bytes; the rest counts in bufferedBytes() and whenDrained()
  /// callbacks wait for peerReads().
  void stallPeer(std::size_t window = 0) noexcept;
  /// The peer reads everything written so far: bufferedBytes() drops to 0 and the callbacks waiting in
  /// whenDrained() run once, in order (they may write and wait again). A stalled peer stays stalled, with a new
  /// window of the same size.
  void peerReads();
  /// The peer reads at once again (as peerReads(), then no more stalling).
  void unstallPeer();
  /// Callbacks waiting in whenDrained().
  std::size_t drainWaiters() const noexcept { return waiting_.size(); }

  // ITransport, as the protocol sees it.

  void write(std::string_view data) override;
  void writeShared(std::shared_ptr<const std::string> data) override;
  void writeSequence(const std::vector<std::string_view>& pieces) override;
  void loseConnection() override;
  void loseWriteConnection() override;
  void abortConnection() override;
  Address getPeer() const override { return peer_; }
  Address getHost() const override { return host_; }
  std::size_t bufferedBytes() const override;
  void whenDrained(std::function<void()> callback) override;
  bool connected() const override;

 private:
  Address peer_;
  Address host_;
  Protocol* protocol_ = nullptr;
  bool wasConnected_ = false;  // connect() ran: disconnect() owes connectionLost
  std::string value_;
  bool disconnecting_ = false;
  bool writeClosed_ = false;
  bool aborted_ = false;
  std::size_t writtenAfterClose_ = 0;
  bool stalled_ = false;
  std::size_t window_ = 0;
  std::size_t unread_ = 0;  // written since the peer last read, while stalled
  std::vector<std::function<void()>> waiting_;
};

}  // namespace cppd::testing
