#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <cppd/connector.hpp>
#include <cppd/posix/unique_fd.hpp>
#include <cppd/protocol.hpp>
#include <cppd/reactor.hpp>
#include <cppd/shared_file.hpp>

#include "streamed_output.hpp"

namespace ftp {

class FtpSession;

/// One FTP data connection (passive or active): sends a listing or a file, or receives a file, then closes.
/// Memory stays bounded whatever the size: files go out through ITransport::sendFile (sendfile(2)), listings are
/// formatted as the client reads them, and received bytes are written to the file as they arrive. A connection
/// that makes no progress for the session's --data-timeout (the client neither reads nor sends) is aborted, and
/// its transfer ends as failed. Loop thread only.
class DataProtocol final : public cppd::Protocol, public std::enable_shared_from_this<DataProtocol> {
 public:
  /// How a transfer ended: complete, or why not; and how many bytes were moved.
  using Finished = std::function<void(bool complete, const std::string& why, std::uint64_t bytes)>;

  explicit DataProtocol(std::weak_ptr<FtpSession> session);

  void connectionMade() override;
  void dataReceived(std::string_view data) override;
  void connectionLost(const cppd::DisconnectReason& reason) override;

  /// Sends text and closes; done(true, ...) once everything was handed to the kernel.
  void sendText(const std::string& text, Finished done);
  /// Sends what lines produces, as the client reads it, and closes.
  void sendStreamed(Producer lines, Finished done);
  /// Sends length bytes of file from offset and closes.
  void sendFile(std::shared_ptr<const cppd::SharedFile> file, std::uint64_t offset, std::uint64_t length,
                Finished done);
  /// Writes what arrives to fd until the peer closes, then closes fd (a failed close fails the transfer: a full
  /// disk or a network file system may report a lost write only there).
  void receiveInto(cppd::posix::UniqueFd fd, Finished done);
  /// Drops the connection now; done is not called.
  void abort();

 private:
  void finish(bool complete, const std::string& why);
  void closeSink();
  bool endedEarly();
  void watchProgress();
  void checkProgress();

  std::weak_ptr<FtpSession> session_;
  Finished done_;
  std::string early_;  // bytes that arrived before receiveInto (bounded)
  std::uint64_t bytes_ = 0;
  cppd::posix::UniqueFd sink_;
  std::string failure_;  // a local failure (disk full) that ended the connection
  std::optional<cppd::DisconnectReason> lost_;
  // The stall watch: what progress looked like at the last check, and since when it has not changed.
  cppd::Reactor* reactor_ = nullptr;
  std::chrono::milliseconds stallTimeout_{0};
  cppd::DelayedCall stallCheck_;
  std::pair<std::uint64_t, std::size_t> progress_{};
  std::chrono::steady_clock::time_point progressAt_{};
};

/// Builds the data connection of one session, for a passive listener or an active connectTCP. A passive port
/// accepts one connection, and only from the control connection's peer host (no connection theft).
class DataFactory final : public cppd::ClientFactory {
 public:
  DataFactory(std::weak_ptr<FtpSession> session, std::string allowedHost);

  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address& addr) override;
  void clientConnectionFailed(const cppd::Address& destination, const cppd::DisconnectReason& reason) override;

 private:
  std::weak_ptr<FtpSession> session_;
  std::string allowedHost_;
  bool used_ = false;
  bool refused_ = false;  // a stranger's connection was logged: anyone may knock on the port, so once is enough
};

}  // namespace ftp
