#include "data_connection.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include <cppd/log.hpp>
#include <cppd/posix/io.hpp>

#include "ftp_session.hpp"

namespace ftp {
namespace {

// What a data connection may receive before STOR has told it where to write; more is not FTP.
constexpr std::size_t kMaxEarlyBytes = 1 << 20;

}  // namespace

DataProtocol::DataProtocol(std::weak_ptr<FtpSession> session) : session_(std::move(session)) {}

void DataProtocol::connectionMade() {
  auto session = session_.lock();
  if (!session) return transport().abortConnection();
  reactor_ = &session->reactor();
  stallTimeout_ = session->config().dataTimeout;
  progressAt_ = std::chrono::steady_clock::now();
  watchProgress();
  session->dataConnected(shared_from_this());
}

// Progress is a byte received or a byte handed on (the unsent count changing); checked four times per timeout.
// Schedules the next check.
void DataProtocol::watchProgress() {
  if (reactor_ == nullptr || stallTimeout_.count() <= 0) return;
  const auto interval = std::max(stallTimeout_ / 4, std::chrono::milliseconds(10));
  std::weak_ptr<DataProtocol> weak = weak_from_this();
  stallCheck_ = reactor_->callLater(interval, [weak] {
    if (auto self = weak.lock()) self->checkProgress();
  });
}

void DataProtocol::checkProgress() {
  if (!connected() || lost_) return;  // still watched after loseConnection: it waits for the peer to read
  const std::pair<std::uint64_t, std::size_t> now{bytes_, transport().bufferedBytes()};
  const auto at = std::chrono::steady_clock::now();
  if (now != progress_) {
    progress_ = now;
    progressAt_ = at;
  } else if (at - progressAt_ >= stallTimeout_) {
    failure_ = fmt::format("no progress on the data connection for {} s (--data-timeout)",
                           static_cast<double>(stallTimeout_.count()) / 1000);
    return transport().abortConnection();
  }
  watchProgress();
}

void DataProtocol::dataReceived(std::string_view data) {
  if (!sink_) {
    if (done_) return;  // sending: the client has nothing to say here
    if (early_.size() + data.size() > kMaxEarlyBytes) return transport().abortConnection();
    early_.append(data);
    return;
  }
  if (const int error = cppd::posix::writeAll(sink_.get(), data); error != 0) {
    failure_ = fmt::format("write to the file failed: {}", std::strerror(error));
    if (connected()) transport().abortConnection();
    return;
  }
  bytes_ += data.size();
}

void DataProtocol::closeSink() {
  if (const int error = sink_.close(); error != 0 && failure_.empty()) {
    failure_ = fmt::format("closing the file failed: {}", std::strerror(error));
  }
}

void DataProtocol::connectionLost(const cppd::DisconnectReason& reason) {
  stallCheck_.cancel();
  closeSink();
  lost_ = failure_.empty() ? reason : cppd::DisconnectReason{false, failure_};
  finish(lost_->clean, lost_->message);
}

// True (and the transfer reported as failed) when the connection ended before the transfer began.
bool DataProtocol::endedEarly() {
  if (!lost_) return false;
  finish(false, "the data connection closed before the transfer began: " + lost_->message);
  return true;
}

void DataProtocol::finish(bool complete, const std::string& why) {
  if (!done_) return;
  auto done = std::exchange(done_, nullptr);
  done(complete, why, bytes_);
}

void DataProtocol::sendText(const std::string& text, Finished done) {
  done_ = std::move(done);
  if (endedEarly()) return;
  bytes_ = text.size();
  transport().write(text);
  transport().loseConnection();
}

void DataProtocol::sendStreamed(Producer lines, Finished done) {
  done_ = std::move(done);
  if (endedEarly()) return;
  Producer counted = [this, lines = std::move(lines)](std::string& out) {
    const bool more = lines(out);
    bytes_ += out.size();
    return more;
  };
  std::weak_ptr<DataProtocol> weak = weak_from_this();
  writeStreamed(transport(), std::move(counted), [weak] {
    if (auto self = weak.lock(); self && self->connected()) self->transport().loseConnection();
  });
}

void DataProtocol::sendFile(std::shared_ptr<const cppd::SharedFile> file, std::uint64_t offset, std::uint64_t length,
                            Finished done) {
  done_ = std::move(done);
  if (endedEarly()) return;
  bytes_ = length;
  transport().sendFile(std::move(file), offset, length);
  transport().loseConnection();
}

void DataProtocol::receiveInto(cppd::posix::UniqueFd fd, Finished done) {
  done_ = std::move(done);
  sink_ = std::move(fd);
  const std::string early = std::exchange(early_, {});
  if (!early.empty()) dataReceived(early);
  if (lost_) {
    // Everything the client sent arrived before it closed: that is a complete upload.
    closeSink();
    finish(lost_->clean && failure_.empty(), failure_.empty() ? lost_->message : failure_);
  }
}

void DataProtocol::abort() {
  done_ = nullptr;
  stallCheck_.cancel();
  if (connected() && !lost_) transport().abortConnection();
}

DataFactory::DataFactory(std::weak_ptr<FtpSession> session, std::string allowedHost)
    : session_(std::move(session)), allowedHost_(std::move(allowedHost)) {
  // One factory per PASV/PORT: its life is not worth four log lines a command (the transfer's own line says
  // what happened), or a client could grow the log faster than it sends.
  setNoisy(false);
}

std::shared_ptr<cppd::Protocol> DataFactory::buildProtocol(const cppd::Address& addr) {
  if (used_ || session_.expired()) return nullptr;
  if (addr.host() != allowedHost_) {
    if (!std::exchange(refused_, true)) {
      cppd::log::warn("refused a data connection from {}: the control connection comes from {} (further refusals "
                      "on this passive port are not logged)", addr.toString(), allowedHost_);
    }
    return nullptr;
  }
  used_ = true;
  return std::make_shared<DataProtocol>(session_);
}

void DataFactory::clientConnectionFailed(const cppd::Address&, const cppd::DisconnectReason& reason) {
  if (auto session = session_.lock()) session->dataConnectFailed(reason.message);
}

}  // namespace ftp
