#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <cppd/connector.hpp>
#include <cppd/listening_port.hpp>
#include <cppd/protocol.hpp>
#include <cppd/reactor.hpp>

#include "command_parser.hpp"
#include "ftp_config.hpp"
#include "jail.hpp"
#include "listing.hpp"
#include "login_guard.hpp"
#include "streamed_output.hpp"

namespace ftp {

class DataProtocol;

/// The control connection of one FTP client (RFC 959, 2428, 3659): parses commands, answers them, and drives
/// the data connection. Every path goes through the configuration's jail (resolved beneath the root's
/// descriptor). Replies follow RFC 959: unknown commands 502, commands out of sequence 503, bad parameters or
/// malformed lines 501, and the session goes on.
///
/// Commands run one at a time, with a return to the event loop between two of them, so one client's pipelined
/// commands never hold up the others. Input waits unparsed while a command is still being answered (a password
/// check on the thread pool, the delay after a wrong password, a long reply being streamed) and while more
/// than kMaxBacklog bytes of replies are unsent (the client does not read); a client that sends more than
/// kMaxInput bytes meanwhile is disconnected. Every reply goes through reply()/replyLines() (reply_lines.hpp),
/// so no text, whoever chose it, can end a reply line early.
///
/// While a transfer runs, ABOR, STAT, NOOP and QUIT are answered at once; other commands wait their turn (at
/// most kMaxQueued, beyond which the client is disconnected: it is not speaking FTP).
///
/// When the server stops (stopRequested), a logged-in session goes on, its transfer included, until the client
/// quits; one not logged in, and any new USER, gets 421 and is closed. At the stop's deadline (stopDeadline) the
/// client gets "421 Service shutting down: closing control connection." before the close. Loop thread only.
class FtpSession final : public cppd::Protocol, public std::enable_shared_from_this<FtpSession> {
 public:
  static constexpr std::size_t kMaxInput = 64 * 1024;    // received, not yet executed
  static constexpr std::size_t kMaxBacklog = 64 * 1024;  // replies unsent before commands wait

  /// guard: the failed-login record shared by the server's sessions (a private one when null).
  FtpSession(std::shared_ptr<const FtpConfig> config, cppd::Reactor& reactor, std::function<void()> onClosed,
             std::shared_ptr<LoginGuard> guard = nullptr);
  ~FtpSession() override;

  void connectionMade() override;
  void dataReceived(std::string_view data) override;
  void connectionLost(const cppd::DisconnectReason& reason) override;
  void stopRequested() override;
  void stopDeadline() override;
  std::string logPrefix() const override { return "FtpSession"; }

  /// Called by the data side.
  void dataConnected(const std::shared_ptr<DataProtocol>& connection);
  void dataConnectFailed(const std::string& why);
  void transferFinished(bool complete, const std::string& why, std::uint64_t bytes);
  const FtpConfig& config() const noexcept { return *config_; }
  /// True when nothing is left to do until the client acts: no command waiting for the loop, none being
  /// answered, no reply waiting for the client to read (for tests and the fuzzer).
  bool idle() const noexcept { return !busy_ && !scheduled_ && !waitingDrain_; }
  cppd::Reactor& reactor() const noexcept { return reactor_; }

 private:
  using Handler = void (FtpSession::*)(const std::string& argument);
  struct CommandInfo;
  static const CommandInfo* lookup(const std::string& verb);
  static bool runsDuringTransfer(const CommandLine& line);

  // Replies and the command engine (ftp_session_input.cpp).
  void reply(int code, std::string_view text);
  void replyLines(int code, std::string_view first, const std::vector<std::string>& lines, std::string_view last);
  void streamReply(int code, std::string_view first, EntrySource entries, LineFormat line,
                   std::string last);
  void processInput();
  std::optional<CommandLine> nextLine();
  bool hasInput() const noexcept;
  void scheduleNext();
  void resume();
  void handleLine(const CommandLine& line);
  void execute(const CommandLine& line);
  void drainQueue();
  void armIdleTimer();
  void armLoginDeadline();
  void passwordChecked(bool ok);
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
  void sendListing(const std::string& path, EntrySource entries, int style);
  void store(const std::string& arg, bool append);
  bool openPassive(bool extended);
  void setActive(const std::string& host, std::uint16_t port);
  /// verb and path are for the transfer's log event; what is its description in replies and log texts.
  void startTransfer(const char* verb, std::string path, std::string what, std::function<void(DataProtocol&)> action,
                     bool upload = false);
  void logTransfer(bool complete, const std::string& why, std::uint64_t bytes);
  void logLogin(bool ok, const std::string& text);
  void closeForShutdown(std::string_view text);
  void runTransfer();
  void resetData();

  std::shared_ptr<const FtpConfig> config_;
  cppd::Reactor& reactor_;
  std::function<void()> onClosed_;
  std::string context_;  // the control connection's log context, for events from the data side
  std::string peerHost_;
  CommandParser parser_;
  std::string input_;          // received bytes, parsed from inputAt_ on
  std::size_t inputAt_ = 0;
  std::deque<CommandLine> queued_;
  bool busy_ = false;          // the current command is still being answered
  bool waitingDrain_ = false;  // too many replies unsent: waiting for the client to read
  bool scheduled_ = false;     // the next command waits for the next loop iteration
  cppd::DelayedCall idle_;
  cppd::DelayedCall loginDeadline_;
  cppd::DelayedCall loginDelay_;  // the answer to a wrong password
  std::shared_ptr<LoginGuard> guard_;

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
  bool stopping_ = false;  // the server is stopping: no new login

  // The data connection: passive (a listener) or active (an address to connect to), at most one at a time.
  enum class DataMode { none, passive, active };
  DataMode dataMode_ = DataMode::none;
  cppd::ListeningPort passivePort_;
  std::string activeHost_;
  std::uint16_t activePort_ = 0;
  bool refusedActive_ = false;  // a refused PORT/EPRT was logged: a client repeating it must not flood the log
  cppd::Connector connector_;
  std::shared_ptr<DataProtocol> data_;       // the connected data connection
  std::function<void(DataProtocol&)> transfer_;  // waiting for the data connection
  std::string transferWhat_;
  const char* transferVerb_ = "";
  std::string transferPath_;
  std::chrono::steady_clock::time_point transferStart_{};
  bool transferring_ = false;
  bool uploading_ = false;
  cppd::DelayedCall dataTimeout_;
};

}  // namespace ftp
