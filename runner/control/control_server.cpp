#include "control/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/core.h>

#include <cppd/endpoint.hpp>
#include <cppd/error.hpp>
#include <cppd/factory.hpp>
#include <cppd/log.hpp>
#include <cppd/posix/unique_fd.hpp>
#include <cppd/protocol.hpp>
#include <cppd/worker.hpp>

#include "control/control_commands.hpp"
#include "control/control_request.hpp"

namespace cppd::runner {
namespace {

// Replies a client has not read are held for it; past this it is not reading, and is closed.
constexpr std::size_t maxUnreadReplies = 256 * 1024;

// What the clients share with the server; the server clears daemon when it goes, so a late request is refused.
struct Shared {
  Reactor* reactor;
  IControlledDaemon* daemon;
  ControlSettings settings;
  std::size_t clients = 0;
};

class ControlProtocol : public Protocol {
 public:
  explicit ControlProtocol(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  ~ControlProtocol() override { deadline_.cancel(); }

  void connectionMade() override {
    if (shared_->clients >= shared_->settings.maxClients) {
      // Told why, not just cut off: an operator's cppdctl can say what is wrong.
      refuse(fmt::format("too many control clients (at most {}); try again later", shared_->settings.maxClients));
      return;
    }
    counted_ = true;
    ++shared_->clients;
    armDeadline();
  }

  void dataReceived(std::string_view data) override {
    if (done_) return;
    buffer_.append(data);
    std::size_t start = 0;
    for (std::size_t newline; !done_ && (newline = buffer_.find('\n', start)) != std::string::npos;) {
      std::string_view line(buffer_.data() + start, newline - start);
      start = newline + 1;
      if (line.size() + 1 > shared_->settings.maxLine) return tooLong();
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) answer(line);
    }
    buffer_.erase(0, start);
    if (!done_ && buffer_.size() >= shared_->settings.maxLine) tooLong();
  }

  void connectionLost(const DisconnectReason&) override {
    deadline_.cancel();
    if (counted_) --shared_->clients;
    counted_ = false;
  }

  std::string logPrefix() const override { return "ControlProtocol"; }

 private:
  void refuse(const std::string& why) {
    done_ = true;
    transport().write(errorReply(why) + "\n");
    transport().loseConnection();
  }

  void tooLong() {
    refuse(fmt::format("request line longer than {} bytes", shared_->settings.maxLine));
  }

  void armDeadline() {
    deadline_.cancel();
    deadline_ = shared_->reactor->callLater(shared_->settings.deadline, [this] {
      done_ = true;
      transport().abortConnection();  // a client that stalls must not hold a slot for ever
    });
  }

  void answer(std::string_view line) {
    if (shared_->daemon == nullptr) return refuse("the daemon is shutting down");
    const ControlRequestParse parsed = parseControlRequest(line);
    const ControlAnswer reply = parsed.request ? answerRequest(*parsed.request, *shared_->daemon)
                                               : ControlAnswer{errorReply(parsed.error), AfterReply::nothing};
    if (transport().bufferedBytes() > maxUnreadReplies) {
      done_ = true;
      transport().abortConnection();
      return;
    }
    transport().write(reply.line + "\n");
    if (reply.after == AfterReply::stop) {
      // The client waits for the daemon to exit: the connection ends with the process, not at a deadline.
      deadline_.cancel();
      done_ = true;
      log::info("Stop requested on the control socket.");
      shared_->daemon->stop();
      return;
    }
    armDeadline();
  }

  std::shared_ptr<Shared> shared_;
  std::string buffer_;
  DelayedCall deadline_;
  bool counted_ = false;
  bool done_ = false;  // refused, closing or stopping: input is ignored
};

// True when a process accepts connections on the socket at path.
bool answers(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return false;  // listen() reports the length
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  posix::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) return false;
  return ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

void refuseOccupied(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return;
  if (!S_ISSOCK(info.st_mode)) {
    throw Error(ErrorKind::cantCreate, fmt::format("create control socket {}: a file that is not a socket is in "
                                                   "the way; remove it or give --control another path", path));
  }
  if (answers(path)) {
    throw Error(ErrorKind::alreadyRunning,
                fmt::format("Another cppd server is running: its control socket {} answers", path));
  }
}

}  // namespace

class ControlServer::Factory : public cppd::Factory {
 public:
  explicit Factory(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) { setNoisy(false); }

  std::shared_ptr<Protocol> buildProtocol(const Address&) override {
    auto protocol = std::make_shared<ControlProtocol>(shared_);
    clients_.push_back(protocol);
    std::erase_if(clients_, [](const std::weak_ptr<ControlProtocol>& p) { return p.expired(); });
    return protocol;
  }

  std::string logPrefix() const override { return "ControlFactory"; }

  void closeClients() {
    shared_->daemon = nullptr;
    for (const auto& weak : clients_) {
      if (auto client = weak.lock(); client && client->connected()) client->transport().abortConnection();
    }
    clients_.clear();
  }

 private:
  std::shared_ptr<Shared> shared_;
  std::vector<std::weak_ptr<ControlProtocol>> clients_;
};

ControlServer::ControlServer(Reactor& reactor, IControlledDaemon& daemon, ControlSettings settings)
    : settings_(std::move(settings)) {
  // A reload's new image takes the socket over: it answers because it is ours.
  if (!detail::isInheritedListener(Endpoint::unixSocket(settings_.path, 0600, 64).toString())) {
    refuseOccupied(settings_.path);
  }
  factory_ = std::make_shared<Factory>(std::make_shared<Shared>(Shared{&reactor, &daemon, settings_}));
  port_ = listen(Endpoint::unixSocket(settings_.path, 0600, 64), factory_, reactor);
  if ((settings_.owner || settings_.group) &&
      ::chown(settings_.path.c_str(), settings_.owner.value_or(static_cast<uid_t>(-1)),
              settings_.group.value_or(static_cast<gid_t>(-1))) != 0) {
    const int error = errno;
    port_.stopListening();  // removes the file
    throw systemError("chown control socket", settings_.path, error);
  }
  struct stat st {};
  if (::lstat(settings_.path.c_str(), &st) == 0) inode_ = st.st_ino;
  log::info("Control socket listening on {}", settings_.path);
}

ControlServer::~ControlServer() {
  port_.stopListening();  // unlinks the path; a user the daemon dropped to may not be allowed to
  factory_->closeClients();
  struct stat st {};
  if (inode_ != 0 && ::lstat(settings_.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == inode_ &&
      ::unlink(settings_.path.c_str()) != 0) {
    log::warn("Could not remove control socket {}: {}; the next start replaces it (nothing answers on it)",
              settings_.path, std::strerror(errno));
  }
}

}  // namespace cppd::runner
