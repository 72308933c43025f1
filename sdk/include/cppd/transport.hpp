#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <cppd/address.hpp>
#include <cppd/export.hpp>
#include <cppd/shared_file.hpp>

namespace cppd {

/// The connection a Protocol writes to (Twisted's ITransport). Implemented by the SDK; protocols only use it.
///
/// Thread affinity: loop thread only. Writes are delivered in call order. Nothing here throws: a write on a
/// connection that is closing or closed is ignored (connectionLost tells the protocol why it ended), and a failed
/// write ends the connection with connectionLost(reason) on a later loop iteration, never inside the call.
///
/// The SDK's connections hand the first write of connectionMade (up to 16 KiB) to the kernel when connectionMade
/// returns, not inside the call: a protocol that answers and calls loseConnection() there (a poem, a banner, a
/// quote) has its answer and the end of the connection sent in one TCP segment (bufferedBytes() counts it until
/// then).
class CPPD_API ITransport {
 public:
  virtual ~ITransport();

  /// Sends data; the bytes are copied if they cannot be handed to the kernel at once.
  virtual void write(std::string_view data) = 0;

  /// Sends a buffer shared with other connections without copying it: the transport keeps a reference until
  /// the bytes are written, so one poem is held once however many clients are reading it. A null buffer is
  /// ignored.
  virtual void writeShared(std::shared_ptr<const std::string> data) = 0;

  /// Sends the pieces in order, as one write (Twisted's writeSequence).
  virtual void writeSequence(const std::vector<std::string_view>& pieces) = 0;

  /// Sends length bytes of file starting at offset, after everything written before and before everything
  /// written after (sendFile is one more write in the connection's single ordered stream). The SDK's
  /// connections use sendfile(2): the bytes go from the page cache to the socket without passing through user
  /// memory, and memory use stays bounded by the socket buffer however large the file and however slow the reader.
  /// The transport keeps a reference to file until the range is sent, so the caller may drop its own at once.
  ///
  /// Counts in bufferedBytes() until sent, and whenDrained() waits for it. A length of 0 is ignored, as is a
  /// null file. Errors never throw here: if the file cannot be read, or ends before offset + length (it shrank
  /// while being sent), the connection is aborted, because the peer was promised bytes it will not get; it ends
  /// with connectionLost(non-clean reason naming the failure) on a later loop iteration. If the peer goes away,
  /// the connection ends as for a failed write and the reference to file is dropped.
  ///
  /// The default implementation (for test transports) reads the range with pread in 64 KiB pieces and write()s
  /// each at once: ordered, but not bounded in memory. Loop thread only.
  virtual void sendFile(std::shared_ptr<const SharedFile> file, std::uint64_t offset, std::uint64_t length);

  /// Closes the connection once everything written so far has been sent (Twisted's loseConnection). Reading
  /// stops now; later writes are ignored. connectionLost follows with a clean reason.
  virtual void loseConnection() = 0;

  /// Half-closes (Twisted's ITCPTransport.loseWriteConnection): sends everything written so far, then shuts
  /// down the sending side (the peer reads end of file), and keeps reading. For a server refusing a request it
  /// has not read to the end (an HTTP 431): closing while input is still unread makes the kernel answer with a
  /// reset, which can destroy the refusal before the client reads it. Input that arrives afterwards still goes
  /// to dataReceived; later writes are ignored and connected() is false. The connection ends when the peer
  /// closes its side (connectionLost, clean), or when loseConnection()/abortConnection() is called, which a
  /// protocol should do after a time of its choosing: a peer that never closes keeps the connection open.
  /// The default implementation (for test transports) is loseConnection().
  virtual void loseWriteConnection();

  /// Closes the connection now, dropping unsent data. connectionLost follows with a non-clean reason.
  virtual void abortConnection() = 0;

  /// The remote end.
  virtual Address getPeer() const = 0;

  /// The local end (the listening address for a server connection).
  virtual Address getHost() const = 0;

  /// Bytes accepted by write*() but not yet handed to the kernel. Producers use it with whenDrained() to keep
  /// their memory bounded when a reader is slow.
  virtual std::size_t bufferedBytes() const = 0;

  /// Runs callback once, when everything written so far has been handed to the kernel: immediately (inside this
  /// call) if nothing is buffered. Pending callbacks are dropped if the connection ends first. The callback
  /// must not throw; if it does, the exception is logged and the connection aborted.
  virtual void whenDrained(std::function<void()> callback) = 0;

  /// True until loseConnection()/loseWriteConnection()/abortConnection() is called or the connection fails.
  virtual bool connected() const = 0;

  /// write(head) followed by sendFile(file, offset, length), with the same ordering, ownership and errors, made
  /// as one call so that the head can leave in the same packets as the file's first bytes instead of in a small
  /// packet of its own (an HTTP response head before its body). The SDK's connections hand the head to the kernel
  /// with MSG_MORE, which is what nginx's tcp_nopush (TCP_CORK) achieves. The default implementation makes the
  /// two calls. Loop thread only.
  virtual void writeAndSendFile(std::string_view head, std::shared_ptr<const SharedFile> file, std::uint64_t offset,
                                std::uint64_t length);
};

}  // namespace cppd
