#include "ftp_session.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include <cppd/log.hpp>

#include "data_connection.hpp"
#include "ftp_metrics.hpp"

namespace ftp {
namespace {

constexpr int kMaxFailedLogins = 3;

bool isAnonymousName(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name == "anonymous" || name == "ftp";
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
  return text;
}

}  // namespace

// How a command may be used: whether it needs a login and whether it may run during a transfer.
struct FtpSession::CommandInfo {
  const char* verb;
  Handler handler;
  bool needsLogin;
  bool duringTransfer;
};

const FtpSession::CommandInfo* FtpSession::lookup(const std::string& verb) {
  static const std::array<CommandInfo, 40> table{{
      {"USER", &FtpSession::cmdUser, false, false}, {"PASS", &FtpSession::cmdPass, false, false},
      {"QUIT", &FtpSession::cmdQuit, false, true},  {"SYST", &FtpSession::cmdSyst, false, false},
      {"FEAT", &FtpSession::cmdFeat, false, false}, {"OPTS", &FtpSession::cmdOpts, false, false},
      {"NOOP", &FtpSession::cmdNoop, false, true},  {"PWD", &FtpSession::cmdPwd, true, false},
      {"XPWD", &FtpSession::cmdPwd, true, false},   {"CWD", &FtpSession::cmdCwd, true, false},
      {"XCWD", &FtpSession::cmdCwd, true, false},   {"CDUP", &FtpSession::cmdCdup, true, false},
      {"XCUP", &FtpSession::cmdCdup, true, false},  {"TYPE", &FtpSession::cmdType, true, false},
      {"MODE", &FtpSession::cmdMode, true, false},  {"STRU", &FtpSession::cmdStru, true, false},
      {"REST", &FtpSession::cmdRest, true, false},  {"STAT", &FtpSession::cmdStat, true, true},
      {"ABOR", &FtpSession::cmdAbor, true, true},   {"SIZE", &FtpSession::cmdSize, true, false},
      {"MDTM", &FtpSession::cmdMdtm, true, false},  {"MLST", &FtpSession::cmdMlst, true, false},
      {"DELE", &FtpSession::cmdDele, true, false},  {"MKD", &FtpSession::cmdMkd, true, false},
      {"XMKD", &FtpSession::cmdMkd, true, false},   {"RMD", &FtpSession::cmdRmd, true, false},
      {"XRMD", &FtpSession::cmdRmd, true, false},   {"RNFR", &FtpSession::cmdRnfr, true, false},
      {"RNTO", &FtpSession::cmdRnto, true, false},  {"PASV", &FtpSession::cmdPasv, true, false},
      {"EPSV", &FtpSession::cmdEpsv, true, false},  {"PORT", &FtpSession::cmdPort, true, false},
      {"EPRT", &FtpSession::cmdEprt, true, false},  {"LIST", &FtpSession::cmdList, true, false},
      {"NLST", &FtpSession::cmdNlst, true, false},  {"MLSD", &FtpSession::cmdMlsd, true, false},
      {"RETR", &FtpSession::cmdRetr, true, false},  {"STOR", &FtpSession::cmdStor, true, false},
      {"APPE", &FtpSession::cmdAppe, true, false},  {"ALLO", &FtpSession::cmdNoop, true, false},
  }};
  for (const CommandInfo& info : table) {
    if (verb == info.verb) return &info;
  }
  return nullptr;
}

FtpSession::FtpSession(std::shared_ptr<const FtpConfig> config, cppd::Reactor& reactor, std::function<void()> onClosed,
                       std::shared_ptr<LoginGuard> guard)
    : config_(std::move(config)), reactor_(reactor), onClosed_(std::move(onClosed)), guard_(std::move(guard)) {
  if (!guard_) guard_ = std::make_shared<LoginGuard>(config_->maxLoginFailures, config_->loginBlockTime);
}

FtpSession::~FtpSession() = default;

void FtpSession::connectionMade() {
  context_ = std::string(cppd::LogContext::current());
  const cppd::Address peer = transport().getPeer();
  peerHost_ = peer.host();
  cppd::log::info("connection from {}", peer.toString());
  reply(220, "cppd FTP server ready.");
  armIdleTimer();
  armLoginDeadline();
}

void FtpSession::connectionLost(const cppd::DisconnectReason& reason) {
  closed_ = true;
  idle_.cancel();
  loginDeadline_.cancel();
  loginDelay_.cancel();
  // A transfer the session takes down with it is logged as a failure: its own end will never be reported.
  if (transferring_) cppd::log::info("{}: failed: the control connection closed ({})", transferWhat_, reason.message);
  resetData();
  cppd::log::info("session ended{}: {}", user_.empty() || !loggedIn_ ? "" : " for " + user_, reason.message);
  if (onClosed_) std::exchange(onClosed_, nullptr)();
}

// A session with a login (or a login in progress) finishes its work; one without has none to finish.
void FtpSession::stopRequested() {
  stopping_ = true;
  if (!loggedIn_ && user_.empty() && !busy_) closeForShutdown("Service shutting down: closing control connection.");
}

void FtpSession::stopDeadline() {
  if (transferring_) cppd::log::info("the shutdown deadline has come during a transfer: {}", transferWhat_);
  closeForShutdown("Service shutting down: closing control connection.");
}

void FtpSession::closeForShutdown(std::string_view text) {
  if (closed_ || !connected()) return;
  reply(421, text);
  transport().loseConnection();  // after the reply has been sent
}

void FtpSession::execute(const CommandLine& line) {
  const CommandInfo* info = lookup(line.verb);
  if (info == nullptr) return reply(502, fmt::format("Command '{}' not implemented.", line.verb));
  if (info->needsLogin && !loggedIn_) return reply(530, "Please log in with USER and PASS first.");
  if (renameFrom_ && line.verb != "RNTO") renameFrom_.reset();
  (this->*info->handler)(line.argument);
}

bool FtpSession::runsDuringTransfer(const CommandLine& line) {
  const CommandInfo* info = line.kind == CommandLine::Kind::command ? lookup(line.verb) : nullptr;
  return info != nullptr && info->duringTransfer;
}

std::optional<std::string> FtpSession::resolve(const std::string& argument) {
  auto path = resolveVirtual(cwd_, argument);
  if (!path) reply(501, "Path names may not contain NUL bytes.");
  return path;
}

bool FtpSession::mayWrite(int deniedCode) {
  if (writable_) return true;
  reply(deniedCode, anonymous_ ? "Permission denied: anonymous users may only read."
                               : "Permission denied: the served directory is read-only.");
  return false;
}

void FtpSession::cmdUser(const std::string& arg) {
  if (arg.empty()) return reply(501, "USER needs a user name.");
  if (stopping_) return closeForShutdown("Service shutting down: not accepting new logins.");
  if (!guard_->allowed(peerHost_)) {
    cppd::log::warn("refusing a login from {}: too many failed logins (--max-login-failures)", peerHost_);
    reply(421, "Too many failed logins from your address; try again later.");
    return transport().loseConnection();
  }
  loggedIn_ = anonymous_ = writable_ = false;
  armLoginDeadline();  // logging in again starts the clock again
  user_ = arg;
  cwd_.assign(1, '/');  // not cwd_ = "/": GCC 12 -O2 reports a false -Wrestrict (PR 105329) there
  if (isAnonymousName(arg)) {
    if (!config_->anonymous) return reply(530, "Anonymous logins are not allowed here.");
    return reply(331, "Anonymous login ok, send your e-mail address as password.");
  }
  reply(331, fmt::format("Password required for {}.", arg));
}

// The password is hashed on the thread pool (crypt(3) with a modern method takes milliseconds on purpose), and
// the session takes no further command until the answer is given.
void FtpSession::cmdPass(const std::string& arg) {
  if (user_.empty() || loggedIn_) return reply(503, "Send USER first.");
  if (isAnonymousName(user_) && config_->anonymous) {
    loggedIn_ = anonymous_ = true;
    loginDeadline_.cancel();
    logLogin(true, fmt::format("anonymous login (password '{}')", arg.substr(0, 64)));
    return reply(230, "Anonymous login ok, access restrictions apply.");
  }
  busy_ = true;
  auto ok = std::make_shared<bool>(false);
  std::weak_ptr<FtpSession> weak = weak_from_this();
  reactor_.runInThreadPool([config = config_, user = user_, password = arg, ok] {
    *ok = config->users.verify(user, password);
  }, [weak, ok] {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    cppd::LogContext context(self->context_);
    self->passwordChecked(*ok);
  });
}

// One structured event per login attempt that got an answer: the text as before, the fields for a JSON log.
void FtpSession::logLogin(bool ok, const std::string& text) {
  FtpMetrics::get().login(ok);
  cppd::log::event(ok ? cppd::LogLevel::info : cppd::LogLevel::warn, text,
                   {{"event", "login"}, {"peer", peerHost_}, {"user", user_}, {"ok", ok}, {"anonymous", anonymous_}});
}

void FtpSession::passwordChecked(bool ok) {
  if (ok) {
    busy_ = false;
    loggedIn_ = true;
    loginDeadline_.cancel();
    writable_ = ::faccessat(config_->jail->fd(), ".", W_OK, 0) == 0;  // the descriptor: --root may be outside a chroot
    logLogin(true, fmt::format("user '{}' logged in{}", user_,
                               writable_ ? "" : " (read-only: the root is not writable)"));
    reply(230, fmt::format("User {} logged in.", user_));
    return resume();
  }
  logLogin(false, fmt::format("failed login for user '{}'", user_));
  user_.clear();
  const bool blocked = guard_->failed(peerHost_);
  if (blocked) cppd::log::warn("refusing logins from {} for {} s: too many failed logins (--max-login-failures)",
                               peerHost_, config_->loginBlockTime.count() / 1000);
  const bool last = blocked || ++failedLogins_ >= kMaxFailedLogins;
  // The answer comes after --login-fail-delay: guessing costs time, one guess after another.
  std::weak_ptr<FtpSession> weak = weak_from_this();
  loginDelay_ = reactor_.callLater(config_->loginFailDelay, [weak, last] {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    cppd::LogContext context(self->context_);
    self->busy_ = false;
    if (last) {
      self->reply(421, "Too many failed logins: closing control connection.");
      return self->transport().loseConnection();
    }
    self->reply(530, "Login incorrect.");
    self->resume();
  });
}

void FtpSession::cmdQuit(const std::string&) {
  reply(221, "Goodbye.");
  transport().loseConnection();
}

void FtpSession::cmdSyst(const std::string&) { reply(215, "UNIX Type: L8"); }

void FtpSession::cmdFeat(const std::string&) {
  replyLines(211, "Features:",
             {" EPRT", " EPSV", " MDTM", " MLST type*;size*;modify*;perm*;unix.mode*;", " PASV", " REST STREAM",
              " SIZE", " TVFS", " UTF8"},
             "End");
}

void FtpSession::cmdOpts(const std::string& arg) {
  const std::string option = upper(arg);
  if (option == "UTF8 ON" || option == "UTF8") return reply(200, "Always in UTF8 mode.");
  if (option.rfind("MLST", 0) == 0) return reply(200, "MLST OPTS type;size;modify;perm;unix.mode;");
  reply(501, fmt::format("Option '{}' not understood.", arg));
}

void FtpSession::cmdNoop(const std::string&) { reply(200, "NOOP ok."); }

void FtpSession::cmdPwd(const std::string&) { reply(257, quotedPath(cwd_) + " is the current directory."); }

void FtpSession::cmdCwd(const std::string& arg) {
  const auto path = resolve(arg.empty() ? "/" : arg);
  if (!path) return;
  int error = 0;
  if (!config_->jail->open(*path, O_PATH | O_DIRECTORY, error)) {
    return reply(550, fmt::format("{}: No such directory.", arg));
  }
  cwd_ = *path;
  reply(250, fmt::format("Directory changed to {}.", cwd_));
}

void FtpSession::cmdCdup(const std::string&) { cmdCwd(".."); }

void FtpSession::cmdType(const std::string& arg) {
  const std::string type = upper(arg);
  if (type == "I" || type == "L 8") {
    binary_ = true;
    return reply(200, "Type set to I.");
  }
  if (type == "A" || type == "A N") {
    binary_ = false;
    return reply(200, "Type set to A.");
  }
  if (type.empty()) return reply(501, "TYPE needs a type: A or I.");
  reply(504, fmt::format("Type '{}' not supported; use A or I.", arg));
}

void FtpSession::cmdMode(const std::string& arg) {
  if (upper(arg) == "S") return reply(200, "Mode set to S.");
  reply(arg.empty() ? 501 : 504, "Only MODE S (stream) is supported.");
}

void FtpSession::cmdStru(const std::string& arg) {
  if (upper(arg) == "F") return reply(200, "Structure set to F.");
  reply(arg.empty() ? 501 : 504, "Only STRU F (file) is supported.");
}

void FtpSession::cmdRest(const std::string& arg) {
  if (arg.empty() || arg.size() > 19 || arg.find_first_not_of("0123456789") != std::string::npos) {
    return reply(501, "REST needs a byte offset.");
  }
  restOffset_ = std::stoull(arg);
  reply(350, fmt::format("Restarting at {}. Send STOR or RETR.", restOffset_));
}

void FtpSession::cmdStat(const std::string& arg) {
  if (!arg.empty() && !transferring_) return listing(arg, 3);
  replyLines(211, "FTP server status:",
             {" Connected from " + peerHost_, " Logged in as " + (anonymous_ ? std::string("anonymous") : user_),
              std::string(" TYPE: ") + (binary_ ? "BINARY" : "ASCII"),
              transferring_ ? fmt::format(" A transfer is in progress: {}", transferWhat_) : " No transfer."},
             "End of status.");
}

void FtpSession::cmdAbor(const std::string&) {
  if (!transferring_) {
    resetData();
    return reply(225, "No transfer to abort.");
  }
  cppd::log::info("transfer aborted by the client: {}", transferWhat_);
  resetData();
  reply(426, "Connection closed; transfer aborted.");
  reply(226, "ABOR command successful.");
  drainQueue();
}

}  // namespace ftp
