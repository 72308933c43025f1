// FtpSession: the data connection (PASV, EPSV, PORT, EPRT) and the transfers over it (LIST, NLST, MLSD, RETR,
// STOR, APPE). A transfer waits for its data connection, answers 150, runs, and ends with 226 or 426.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>

#include "data_connection.hpp"
#include "ftp_metrics.hpp"
#include "ftp_session.hpp"
#include "listing.hpp"
#include "upload_target.hpp"

namespace ftp {
namespace {

constexpr std::chrono::seconds kDataTimeout{30};

enum ListStyle { kList = 0, kNlst = 1, kMlsd = 2, kStat = 3 };

// "LIST -la dir": the path, without the ls options clients add.
std::string withoutListOptions(const std::string& arg) {
  std::size_t at = 0;
  while (at < arg.size() && arg[at] == '-') {
    const std::size_t space = arg.find(' ', at);
    if (space == std::string::npos) return "";
    at = space + 1;
  }
  return arg.substr(at);
}

// Splits "h1,h2,h3,h4,p1,p2" (PORT); false when malformed.
bool parsePort(const std::string& arg, std::string& host, std::uint16_t& port) {
  std::vector<unsigned> numbers;
  std::size_t at = 0;
  while (at <= arg.size() && numbers.size() < 7) {
    const std::size_t comma = std::min(arg.find(',', at), arg.size());
    const std::string part = arg.substr(at, comma - at);
    if (part.empty() || part.size() > 3 || part.find_first_not_of("0123456789") != std::string::npos) return false;
    numbers.push_back(static_cast<unsigned>(std::stoul(part)));
    if (numbers.back() > 255) return false;
    at = comma + 1;
  }
  if (numbers.size() != 6) return false;
  host = fmt::format("{}.{}.{}.{}", numbers[0], numbers[1], numbers[2], numbers[3]);
  port = static_cast<std::uint16_t>(numbers[4] * 256 + numbers[5]);
  return true;
}

// Splits "|1|132.235.1.2|6275|" (EPRT, RFC 2428); false when malformed.
bool parseEprt(const std::string& arg, std::string& protocol, std::string& host, std::uint16_t& port) {
  if (arg.size() < 7) return false;
  const char d = arg[0];
  std::vector<std::string> parts;
  std::size_t at = 1;
  for (int i = 0; i < 3; ++i) {
    const std::size_t next = arg.find(d, at);
    if (next == std::string::npos) return false;
    parts.push_back(arg.substr(at, next - at));
    at = next + 1;
  }
  if (at != arg.size() || parts[2].empty() || parts[2].size() > 5 ||
      parts[2].find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const unsigned long number = std::stoul(parts[2]);
  if (number == 0 || number > 65535) return false;
  protocol = parts[0];
  host = parts[1];
  port = static_cast<std::uint16_t>(number);
  return true;
}

std::string escapeEndpoint(const std::string& text) {
  std::string out;
  for (char c : text) out += c == ':' ? std::string("\\:") : std::string(1, c);
  return out;
}

}  // namespace

void FtpSession::resetData() {
  dataTimeout_.cancel();
  passivePort_.stopListening();
  connector_.stopConnecting();
  connector_ = cppd::Connector();
  if (data_) data_->abort();
  data_.reset();
  transfer_ = nullptr;
  transferring_ = false;
  dataMode_ = DataMode::none;
}

bool FtpSession::openPassive(bool extended) {
  resetData();
  const cppd::Address local = transport().getHost();
  if (!extended && local.family() != cppd::AddressFamily::ipv4) {
    reply(425, "PASV works over IPv4 only; use EPSV.");
    return false;
  }
  const bool ranged = config_->passiveLow != 0;
  const unsigned count = ranged ? config_->passiveHigh - config_->passiveLow + 1u : 1u;
  const unsigned first = ranged ? std::random_device()() % count : 0;
  auto factory = std::make_shared<DataFactory>(weak_from_this(), peerHost_);
  for (unsigned i = 0; i < count; ++i) {
    const unsigned port = ranged ? config_->passiveLow + (first + i) % count : 0;
    const std::string description = fmt::format("{}:{}:interface={}", local.family() == cppd::AddressFamily::ipv6 ? "tcp6" : "tcp",
                                                port, escapeEndpoint(local.host()));
    try {
      passivePort_ = cppd::listen(cppd::Endpoint::parse(description), factory, reactor_);
      dataMode_ = DataMode::passive;
      return true;
    } catch (const cppd::Error& e) {
      if (i + 1 == count) cppd::log::warn("no passive port available: {}", e.what());
    }
  }
  reply(425, "Cannot open a passive data port.");
  return false;
}

void FtpSession::cmdPasv(const std::string&) {
  if (epsvAll_) return reply(503, "EPSV ALL was sent: only EPSV is allowed.");
  if (!openPassive(false)) return;
  const cppd::Address bound = passivePort_.getHost();
  std::string host = bound.host();
  for (char& c : host) c = c == '.' ? ',' : c;
  reply(227, fmt::format("Entering Passive Mode ({},{},{}).", host, bound.port() / 256, bound.port() % 256));
}

void FtpSession::cmdEpsv(const std::string& arg) {
  if (arg == "ALL" || arg == "all" || arg == "All") {
    epsvAll_ = true;
    return reply(200, "EPSV ALL ok.");
  }
  const bool v6 = transport().getHost().family() == cppd::AddressFamily::ipv6;
  if (!arg.empty() && arg != (v6 ? "2" : "1")) return reply(522, fmt::format("Network protocol not supported, use ({}).", v6 ? 2 : 1));
  if (!openPassive(true)) return;
  reply(229, fmt::format("Entering Extended Passive Mode (|||{}|).", passivePort_.getHost().port()));
}

void FtpSession::setActive(const std::string& host, std::uint16_t port) {
  if (epsvAll_) return reply(503, "EPSV ALL was sent: only EPSV is allowed.");
  std::string peer = peerHost_;
  if (peer.rfind("::ffff:", 0) == 0) peer = peer.substr(7);
  if (host != peer || port < 1024) {
    if (!std::exchange(refusedActive_, true)) {
      cppd::log::warn("refused a data connection to {} port {} (not the client's address, or a privileged port; "
                      "further refusals in this session are not logged)", host, port);
    }
    return reply(504, "Data connections go only to your own address, on a port of 1024 or above.");
  }
  resetData();
  dataMode_ = DataMode::active;
  activeHost_ = host;
  activePort_ = port;
  reply(200, "Data connection address accepted.");
}

void FtpSession::cmdPort(const std::string& arg) {
  std::string host;
  std::uint16_t port = 0;
  if (!parsePort(arg, host, port)) return reply(501, "PORT needs h1,h2,h3,h4,p1,p2.");
  setActive(host, port);
}

void FtpSession::cmdEprt(const std::string& arg) {
  std::string protocol, host;
  std::uint16_t port = 0;
  if (!parseEprt(arg, protocol, host, port)) return reply(501, "EPRT needs |protocol|address|port|.");
  if (protocol != "1" && protocol != "2") return reply(522, "Network protocol not supported, use (1,2).");
  setActive(host, port);
}

void FtpSession::startTransfer(const char* verb, std::string path, std::string what,
                               std::function<void(DataProtocol&)> action, bool upload) {
  if (dataMode_ == DataMode::none) return reply(425, "Use PASV, EPSV, PORT or EPRT first.");
  transferring_ = true;
  uploading_ = upload;
  transferWhat_ = std::move(what);
  transferVerb_ = verb;
  transferPath_ = std::move(path);
  transferStart_ = std::chrono::steady_clock::now();
  transfer_ = std::move(action);
  if (data_) return runTransfer();
  std::weak_ptr<FtpSession> weak = weak_from_this();
  dataTimeout_ = reactor_.callLater(kDataTimeout, [weak] {
    if (auto self = weak.lock()) self->dataConnectFailed("no data connection within 30 seconds");
  });
  if (dataMode_ == DataMode::active) {
    try {
      connector_ = cppd::connectTCP(activeHost_, activePort_, std::make_shared<DataFactory>(weak, activeHost_),
                                    kDataTimeout, reactor_);
    } catch (const cppd::Error& e) {
      dataConnectFailed(e.what());
    }
  }
}

void FtpSession::dataConnected(const std::shared_ptr<DataProtocol>& connection) {
  cppd::LogContext context(context_);
  if (closed_ || data_) {
    connection->abort();
    return;
  }
  passivePort_.stopListening();  // one connection per PASV
  data_ = connection;
  if (transferring_ && transfer_) runTransfer();
}

void FtpSession::dataConnectFailed(const std::string& why) {
  cppd::LogContext context(context_);
  if (closed_ || !transferring_ || data_) return;
  cppd::log::warn("no data connection for {}: {}", transferWhat_, why);
  resetData();
  reply(425, "Cannot open data connection.");
  drainQueue();
}

void FtpSession::runTransfer() {
  dataTimeout_.cancel();
  auto action = std::move(transfer_);
  transfer_ = nullptr;
  reply(150, fmt::format("Opening {} mode data connection for {}.", binary_ ? "BINARY" : "ASCII", transferWhat_));
  action(*data_);
}

void FtpSession::transferFinished(bool complete, const std::string& why, std::uint64_t bytes) {
  cppd::LogContext context(context_);
  if (closed_ || !transferring_) return;
  data_.reset();
  resetData();
  logTransfer(complete, why, bytes);
  FtpMetrics::get().transfer(uploading_, std::string_view(transferVerb_) == "RETR", complete, bytes);
  reply(complete ? 226 : 426, complete ? "Transfer complete." : "Connection closed; transfer aborted.");
  drainQueue();
}

// One structured event per transfer that had a data connection (the texts as before; the fields for a JSON log).
void FtpSession::logTransfer(bool complete, const std::string& why, std::uint64_t bytes) {
  // For uploads bytes is what was written; for downloads the kernel's progress is unknown, so none is shown.
  const bool bytesKnown = complete || uploading_;
  const std::string text = complete ? fmt::format("{}: {} bytes, complete", transferWhat_, bytes)
                           : uploading_ ? fmt::format("{}: failed after {} bytes: {}", transferWhat_, bytes, why)
                                        : fmt::format("{}: failed: {}", transferWhat_, why);
  const std::chrono::duration<double, std::milli> duration = std::chrono::steady_clock::now() - transferStart_;
  const std::string_view user = loggedIn_ ? std::string_view(user_) : std::string_view();
  const cppd::LogField fields[] = {{"event", "transfer"}, {"peer", peerHost_}, {"user", user},
                                   {"command", transferVerb_}, {"path", transferPath_}, {"complete", complete},
                                   {"duration_ms", duration.count()}, {"error", why}, {"bytes", bytes}};
  if (!cppd::log::enabled(cppd::LogLevel::info)) return;
  cppd::log::emitFields(cppd::LogLevel::info, text, std::span(fields).first(std::size(fields) - (bytesKnown ? 0 : 1)));
}

namespace {

// Tells the session, if it still exists, how its transfer ended.
DataProtocol::Finished finishedFor(std::weak_ptr<FtpSession> weak) {
  return [weak](bool complete, const std::string& why, std::uint64_t bytes) {
    if (auto self = weak.lock()) self->transferFinished(complete, why, bytes);
  };
}

// Settles the upload's file (kept, or removed when no byte came) before the session answers the client.
DataProtocol::Finished uploadFinishedFor(std::shared_ptr<UploadTarget> target, std::weak_ptr<FtpSession> weak) {
  return [target = std::move(target), report = finishedFor(std::move(weak))](bool complete, const std::string& why,
                                                                              std::uint64_t bytes) {
    target->finished(complete, bytes);
    report(complete, why, bytes);
  };
}

std::string restBeyondEnd(std::uint64_t offset, std::uint64_t size) {
  return fmt::format("Restart offset {} is beyond the end of the file ({} bytes).", offset, size);
}

}  // namespace

void FtpSession::listing(const std::string& arg, int style) {
  const std::string target = withoutListOptions(arg);
  const auto path = resolve(target);
  if (!path) return;
  int error = 0;
  // O_PATH: no device is ever opened.
  const cppd::posix::UniqueFd found = config_->jail->open(*path, O_PATH, error);
  struct stat info {};
  if (!found || ::fstat(found.get(), &info) != 0) {
    return reply(550, fmt::format("{}: No such file or directory.", target));
  }
  EntrySource entries;
  if (S_ISDIR(info.st_mode)) {
    const cppd::posix::UniqueFd dir{::openat(found.get(), ".", O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC)};
    if (dir) entries = readDirectory(config_->jail, *path, dir.get(), error);
    if (!dir) error = errno;
    if (error != 0) return reply(550, fmt::format("{}: {}.", target, std::strerror(error)));
  } else if (style == kMlsd) {
    return reply(501, fmt::format("{}: not a directory.", target));
  } else {
    entries = oneEntry(ListEntry{path->substr(path->rfind('/') + 1), info});
  }
  sendListing(*path, std::move(entries), style);
}

void FtpSession::sendListing(const std::string& path, EntrySource entries, int style) {
  const std::time_t now = std::time(nullptr);
  // The lines are formatted as the client reads them, and sent with backpressure.
  const bool writable = writable_;
  LineFormat format = [style, now, writable](const ListEntry& entry) {
    if (style == kNlst) return entry.name;
    if (style == kMlsd) return mlsxLine(entry, writable);
    return listLine(entry, now);
  };
  if (style == kStat) return streamReply(213, "Status of " + path + ":", std::move(entries), format, "End of status.");
  Producer lines = linesOf(std::move(entries), [format](const ListEntry& entry) { return format(entry) + "\r\n"; });
  const char* verb = style == kList ? "LIST" : style == kNlst ? "NLST" : "MLSD";
  startTransfer(verb, path, fmt::format("{} {}", verb, path),
                [lines = std::move(lines), weak = weak_from_this()](DataProtocol& data) {
                  data.sendStreamed(lines, finishedFor(weak));
                });
}

void FtpSession::cmdList(const std::string& arg) { listing(arg, kList); }
void FtpSession::cmdNlst(const std::string& arg) { listing(arg, kNlst); }
void FtpSession::cmdMlsd(const std::string& arg) { listing(arg, kMlsd); }

void FtpSession::cmdRetr(const std::string& arg) {
  const std::uint64_t offset = std::exchange(restOffset_, 0);
  const auto path = resolve(arg);
  if (!path) return;
  int error = 0;
  // O_NONBLOCK: opening a FIFO must not block the loop; it is refused below like every non-regular file.
  cppd::posix::UniqueFd opened = config_->jail->open(*path, O_RDONLY | O_NONBLOCK, error);
  if (!opened) return reply(550, fmt::format("{}: {}.", arg, std::strerror(clientError(error))));
  auto file = std::make_shared<const cppd::SharedFile>(opened.release());
  struct stat info {};
  if (::fstat(file->fd(), &info) != 0 || !S_ISREG(info.st_mode)) return reply(550, fmt::format("{}: not a regular file.", arg));
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (offset > size) return reply(554, restBeyondEnd(offset, size));
  startTransfer("RETR", *path, fmt::format("RETR {} ({} bytes from offset {})", *path, size - offset, offset),
                [file, offset, size, weak = weak_from_this()](DataProtocol& data) {
                  data.sendFile(file, offset, size - offset, finishedFor(weak));
                });
}

// REST before STOR continues an existing file at most at its end (no holes, no sparse giants); APPE ignores it.
void FtpSession::store(const std::string& arg, bool append) {
  const std::uint64_t offset = std::exchange(restOffset_, 0);
  const auto path = resolve(arg);
  if (!path || !mayWrite(553)) return;
  if (dataMode_ == DataMode::none) return reply(425, "Use PASV, EPSV, PORT or EPRT first.");
  std::string why;
  std::shared_ptr<UploadTarget> target = UploadTarget::open(*config_->jail, *path, why);
  if (!target) return reply(553, fmt::format("{}: {}.", arg, why));
  const std::uint64_t size = target->size();
  const bool beyondEnd = !append && offset > size;
  if (beyondEnd || !target->prepare(append, append ? 0 : offset, why)) {
    target.reset();  // removes a file this STOR created, before the client hears of the refusal
    if (beyondEnd) return reply(554, restBeyondEnd(offset, size));
    return reply(553, fmt::format("{}: {}.", arg, why));
  }
  const char* verb = append ? "APPE" : "STOR";
  startTransfer(verb, *path, fmt::format("{} {}", verb, *path), [target, weak = weak_from_this()](DataProtocol& data) {
    data.receiveInto(target->releaseDescriptor(), uploadFinishedFor(target, weak));
  }, true);
}

void FtpSession::cmdStor(const std::string& arg) { store(arg, false); }
void FtpSession::cmdAppe(const std::string& arg) { store(arg, true); }

}  // namespace ftp
