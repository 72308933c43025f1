// FtpSession: the command engine. Input is parsed and executed one command at a time, with a return to the event
// loop in between, and only while the client reads its replies; replies are written by reply()/replyLines()
// alone, which encode whatever text they are given (reply_lines.hpp).
#include <utility>

#include <fmt/format.h>

#include <cppd/log.hpp>

#include "ftp_session.hpp"
#include "reply_lines.hpp"

namespace ftp {
namespace {

constexpr std::size_t kMaxQueued = 64;

}  // namespace

void FtpSession::reply(int code, std::string_view text) {
  if (closed_ || !connected()) return;
  transport().write(replyLine(code, text));
}

void FtpSession::replyLines(int code, std::string_view first, const std::vector<std::string>& lines,
                            std::string_view last) {
  if (closed_ || !connected()) return;
  std::string out = replyFirstLine(code, first);
  for (const std::string& line : lines) out += replyInnerLine(line);
  out += replyLine(code, last);
  transport().write(out);
}

// A multi-line reply with a line per entry (STAT of a directory): written as the client reads it, every line made
// safe on its own, and the session takes no further command until the last line is out.
void FtpSession::streamReply(int code, std::string_view first, EntrySource entries, LineFormat line,
                             std::string last) {
  if (closed_ || !connected()) return;
  transport().write(replyFirstLine(code, first));
  busy_ = true;
  Producer lines = linesOf(std::move(entries), [line = std::move(line)](const ListEntry& entry) {
    return replyInnerLine(line(entry));
  });
  std::weak_ptr<FtpSession> weak = weak_from_this();
  writeStreamed(transport(), std::move(lines), [weak, code, last = std::move(last)] {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    cppd::LogContext context(self->context_);
    self->busy_ = false;
    self->reply(code, last);
    self->scheduleNext();
  });
}

void FtpSession::armIdleTimer() {
  idle_.cancel();
  if (config_->idleTimeout.count() <= 0) return;
  std::weak_ptr<FtpSession> weak = weak_from_this();
  idle_ = reactor_.callLater(config_->idleTimeout, [weak] {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    cppd::LogContext context(self->context_);
    if (self->transferring_) return self->armIdleTimer();  // a long transfer is not idleness
    cppd::log::info("idle for {} s: closing the session", self->config_->idleTimeout.count() / 1000);
    self->reply(421, "Idle timeout: closing control connection.");
    self->transport().loseConnection();
  });
}

// Activity before a login does not count: a client gets --login-timeout from connecting (or from USER) to log in.
void FtpSession::armLoginDeadline() {
  if (loginDeadline_.active() || config_->loginTimeout.count() <= 0) return;
  std::weak_ptr<FtpSession> weak = weak_from_this();
  loginDeadline_ = reactor_.callLater(config_->loginTimeout, [weak] {
    auto self = weak.lock();
    if (!self || self->closed_ || self->loggedIn_) return;
    cppd::LogContext context(self->context_);
    cppd::log::info("no login within {} s: closing the session (--login-timeout)",
                    self->config_->loginTimeout.count() / 1000.0);
    self->reply(421, "Login timeout: closing control connection.");
    self->transport().loseConnection();
  });
}

void FtpSession::dataReceived(std::string_view data) {
  if (closed_) return;
  if (inputAt_ > 0 && inputAt_ >= input_.size() / 2) {
    input_.erase(0, inputAt_);
    inputAt_ = 0;
  }
  if (input_.size() - inputAt_ + data.size() > kMaxInput) {
    cppd::log::warn("closing a session that sent {} bytes of commands without reading the replies",
                    input_.size() - inputAt_ + data.size());
    transport().abortConnection();
    return;
  }
  input_.append(data);
  armIdleTimer();
  processInput();
}

bool FtpSession::hasInput() const noexcept {
  return inputAt_ < input_.size() || (!transferring_ && !queued_.empty());
}

// The next command to run now: one queued during a transfer that has ended, or the next line received. During a
// transfer, lines that must wait for it to end are queued, so that ABOR or STAT behind them is answered at once.
std::optional<CommandLine> FtpSession::nextLine() {
  if (!transferring_ && !queued_.empty()) {
    CommandLine line = std::move(queued_.front());
    queued_.pop_front();
    return line;
  }
  while (inputAt_ < input_.size()) {
    std::string_view rest = std::string_view(input_).substr(inputAt_);
    const std::size_t before = rest.size();
    std::optional<CommandLine> line = parser_.next(rest);
    inputAt_ += before - rest.size();
    if (!line) break;
    if (!transferring_ || runsDuringTransfer(*line)) return line;
    if (queued_.size() >= kMaxQueued) {
      cppd::log::warn("more than {} commands sent during a transfer: closing the session", kMaxQueued);
      transport().abortConnection();
      return std::nullopt;
    }
    queued_.push_back(std::move(*line));
  }
  if (inputAt_ == input_.size()) {
    input_.clear();
    inputAt_ = 0;
  }
  return std::nullopt;
}

// Runs one command if the session is ready for it, and schedules the next for a later loop iteration.
void FtpSession::processInput() {
  if (closed_ || !connected() || !transport().connected() || busy_ || waitingDrain_ || scheduled_) return;
  if (transport().bufferedBytes() > kMaxBacklog) {
    // The client does not read its replies: take no more commands until it has.
    waitingDrain_ = true;
    std::weak_ptr<FtpSession> weak = weak_from_this();
    transport().whenDrained([weak] {
      auto self = weak.lock();
      if (!self || self->closed_) return;
      cppd::LogContext context(self->context_);
      self->waitingDrain_ = false;
      self->processInput();
    });
    return;
  }
  std::optional<CommandLine> line = nextLine();
  if (!line) return;
  handleLine(*line);
  scheduleNext();
}

// A real return to the loop: a call posted with callFromThread runs in the next iteration, after the poll for
// I/O (a callLater(0) would not do: libuv runs timers that fall due while it runs timers in the same pass).
void FtpSession::scheduleNext() {
  if (closed_ || busy_ || scheduled_ || !hasInput()) return;
  scheduled_ = true;
  std::weak_ptr<FtpSession> weak = weak_from_this();
  reactor_.callFromThread([weak] {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    self->scheduled_ = false;
    cppd::LogContext context(self->context_);
    self->processInput();
  });
}

// The current command has been answered (a password check, a transfer): go on with the input.
void FtpSession::resume() { processInput(); }

// Called from inside a command too (ABOR): the next command runs in a later loop iteration, never nested.
void FtpSession::drainQueue() { scheduleNext(); }

void FtpSession::handleLine(const CommandLine& line) {
  switch (line.kind) {
    case CommandLine::Kind::empty:
      return reply(501, "Empty command line.");
    case CommandLine::Kind::tooLong:
      return reply(501, fmt::format("Command line too long (more than {} bytes).", CommandParser::maxLineLength));
    case CommandLine::Kind::invalidUtf8:
      return reply(501, "Command line is not valid UTF-8.");
    case CommandLine::Kind::invalidVerb:
      return reply(501, "Syntax error: a command is 3 or 4 letters.");
    case CommandLine::Kind::command:
      break;
  }
  execute(line);
}

}  // namespace ftp
