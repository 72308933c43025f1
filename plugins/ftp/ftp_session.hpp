#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <cppd/connector.hpp>
#include <cppd/listening_port.hpp>
#include <cppd/protocol.hpp>
#include <cppd/reactor.hpp>

#include "command_parser.hpp"
#include "ftp_config.hpp"
#include "jail.hpp"
#include "listing.hpp"

namespace ftp {

class DataProtocol;

/// The control connection of one FTP client (RFC 959, 2428, 3659): parses commands, answers them, and drives
/// the data connection. Every path goes through the configuration's jail (resolved beneath the root's
/// descriptor). Replies follow RFC 959: unknown commands 502, commands out of sequence 503, bad parameters or
/// malformed lines 501, and the session goes on.
///
/// While a transfer runs, ABOR, STAT, NOOP and QUIT are answered at once; other commands wait their turn (at
/// most kMaxQueued, beyond which the client is disconnected: it is not speaking FTP). Loop thread only.
class FtpSession final : public cppd::Protocol, public std::enable_shared_from_this<FtpSession> {
 public:
  FtpSession(std::shared_ptr<const FtpConfig> config, cppd::Reactor& reactor, std::function<void()> onClosed);
  ~FtpSession() override;

  void connectionMade() override;
  void dataReceived(std::string_view data) override;
  void connectionLost(const cppd::DisconnectReason& reason) override;
  std::string logPrefix() const override { return "FtpSession"; }

  /// Called by the data side.
  void dataConnected(const std::shared_ptr<DataProtocol>& connection);
  void dataConnectFailed(const std::string& why);
  void transferFinished(bool complete, const std::string& why, std::uint64_t bytes);

 private:
  using Handler = void (FtpSession::*)(const std::string& argument);
  struct CommandInfo;
  static const CommandInfo* lookup(const std::string& verb);

  void reply(int code, std::string_view text);
  void handleLine(const CommandLine& line);
  void execute(const CommandLine& line);
  void drainQueue();
  void armIdleTimer();
  std::optional<std::string> resolve(const std::string& argument);
  bool mayWrite(int deniedCode);
  bool checkStat(const std::string& real, struct stat& info);

  // Access control and session state (ftp_session.cpp).
  void cmdUser(const std::string& arg);
  void cmdPass(const std::string& arg);
  void cmdQuit(const std::string& arg);
  void cmdSyst(const std::string& arg);
  void cmdFeat(const std::string& arg);
  void cmdOpts(const std::string& arg);
  void cmdNoop(const std::string& arg);
  void cmdPwd(const std::string& arg);
  void cmdCwd(const std::string& arg);
  void cmdCdup(const std::string& arg);
  void cmdType(const std::string& arg);
  void cmdMode(const std::string& arg);
  void cmdStru(const std::string& arg);
  void cmdRest(const std::string& arg);
  void cmdStat(const std::string& arg);
  void cmdAbor(const std::string& arg);
  // Files (ftp_session_files.cpp).
  void cmdSize(const std::string& arg);
  void cmdMdtm(const std::string& arg);
  void cmdMlst(const std::string& arg);
  void cmdDele(const std::string& arg);
  void cmdMkd(const std::string& arg);
  void cmdRmd(const std::string& arg);
  void cmdRnfr(const std::string& arg);
  void cmdRnto(const std::string& arg);
  // Data connections and transfers (ftp_session_transfers.cpp).
  void cmdPasv(const std::string& arg);
  void cmdEpsv(const std::string& arg);
  void cmdPort(const std::string& arg);
  void cmdEprt(const std::string& arg);
  void cmdList(const std::string& arg);
  void cmdNlst(const std::string& arg);
  void cmdMlsd(const std::string& arg);
  void cmdRetr(const std::string& arg);
  void cmdStor(const std::string& arg);
  void cmdAppe(const std::string& arg);

  void listing(const std::string& arg, int style);
  void sendListing(const std::string& path, const std::vector<ListEntry>& entries, int style);
  void store(const std::string& arg, bool append);
  bool openPassive(bool extended);
  void setActive(const std::string& host, std::uint16_t port);
  void startTransfer(std::string what, std::function<void(DataProtocol&)> action, bool upload = false);
  void runTransfer();
  void resetData();

  std::shared_ptr<const FtpConfig> config_;
  cppd::Reactor& reactor_;
  std::function<void()> onClosed_;
  std::string context_;  // the control connection's log context, for events from the data side
  std::string peerHost_;
  CommandParser parser_;
  std::deque<CommandLine> queued_;
  cppd::DelayedCall idle_;

  std::string user_;      // after USER
  bool loggedIn_ = false;
  bool anonymous_ = false;
  bool writable_ = false;  // may change the tree
  int failedLogins_ = 0;
  std::string cwd_ = "/";
  bool binary_ = false;
  std::uint64_t restOffset_ = 0;
  std::optional<std::string> renameFrom_;  // virtual path after RNFR
  bool epsvAll_ = false;
  bool closed_ = false;

  // The data connection: passive (a listener) or active (an address to connect to), at most one at a time.
  enum class DataMode { none, passive, active };
  DataMode dataMode_ = DataMode::none;
  cppd::ListeningPort passivePort_;
  std::string activeHost_;
  std::uint16_t activePort_ = 0;
  cppd::Connector connector_;
  std::shared_ptr<DataProtocol> data_;       // the connected data connection
  std::function<void(DataProtocol&)> transfer_;  // waiting for the data connection
  std::string transferWhat_;
  bool transferring_ = false;
  bool uploading_ = false;
  cppd::DelayedCall dataTimeout_;
};

}  // namespace ftp
