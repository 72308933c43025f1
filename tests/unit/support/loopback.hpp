#pragma once

// Helpers for the networking tests: a blocking loopback client run on its own thread while the test's reactor
// runs on the main thread, and loop runners bounded by a deadline (a failed test ends, it never hangs).

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <vector>
#include <stdexcept>
#include <string>
#include <thread>

#include <cppd/address.hpp>
#include <cppd/completion.hpp>
#include <cppd/endpoint.hpp>
#include <cppd/factory.hpp>
#include <cppd/log.hpp>
#include <cppd/protocol.hpp>
#include <cppd/reactor.hpp>
#include <cppd/stream_server_service.hpp>

namespace loopback {

constexpr std::chrono::milliseconds kDeadline{20000};

/// A connected blocking client socket with a receive timeout, closed on destruction.
class Client {
 public:
  explicit Client(const cppd::Address& server) {
    if (server.isTcp()) {
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(server.port());
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      check(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), "connect");
      const int on = 1;
      ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    } else {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, server.path().c_str(), sizeof address.sun_path - 1);
      check(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), "connect");
    }
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  int fd() const { return fd_; }

  /// Sends data whole, or in pieces of chunk bytes (one send() each).
  void send(const std::string& data, std::size_t chunk = 0) {
    if (chunk == 0) chunk = data.size();
    for (std::size_t at = 0; at < data.size(); at += chunk) {
      const std::string piece = data.substr(at, chunk);
      check(static_cast<int>(::send(fd_, piece.data(), piece.size(), MSG_NOSIGNAL)) == static_cast<int>(piece.size())
                ? 0
                : -1,
            "send");
    }
  }

  void shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  /// Reads until end of stream (or until limit bytes have arrived).
  std::string readAll(std::size_t limit = static_cast<std::size_t>(-1)) {
    std::string received;
    char buffer[65536];
    while (received.size() < limit) {
      const ssize_t n = ::recv(fd_, buffer, std::min(sizeof buffer, limit - received.size()), 0);
      if (n == 0) break;
      if (n < 0) throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
      received.append(buffer, static_cast<std::size_t>(n));
    }
    return received;
  }

 private:
  static void check(int result, const char* what) {
    if (result != 0) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
  }
  int fd_ = -1;
};

/// Runs the reactor until stop() is called, or fails the run after the deadline.
inline void runWithDeadline(cppd::Reactor& reactor) {
  bool timedOut = false;
  cppd::DelayedCall deadline = reactor.callLater(kDeadline, [&] {
    timedOut = true;
    reactor.stop();
  });
  reactor.run();
  deadline.cancel();
  if (timedOut) throw std::runtime_error("the reactor did not finish before the deadline");
}

/// Runs client on a thread while the reactor serves; returns when the client has finished. The client's exception,
/// if any, is rethrown here.
inline void serveWhile(cppd::Reactor& reactor, const std::function<void()>& client) {
  std::exception_ptr failure;
  std::thread thread([&] {
    try {
      client();
    } catch (...) {
      failure = std::current_exception();
    }
    reactor.callFromThread([&reactor] { reactor.stop(); });
  });
  try {
    runWithDeadline(reactor);
  } catch (...) {
    thread.join();
    throw;
  }
  thread.join();
  if (failure) std::rethrow_exception(failure);
}

/// Runs the reactor until completion has fired.
inline void runUntil(cppd::Reactor& reactor, const cppd::Completion& completion) {
  if (completion.fired()) return;
  completion.whenDone([&reactor](const std::optional<std::string>&) { reactor.stop(); });
  runWithDeadline(reactor);
}

/// Records every log event while it exists.
class LogCapture : public cppd::ILogObserver {
 public:
  struct Line {
    cppd::LogLevel level;
    std::string system;
    std::string text;
  };
  void observe(const cppd::LogEvent& event) override {
    lines.push_back({event.level, std::string(event.system), std::string(event.text)});
    if (onEvent) onEvent(lines.back());
  }
  bool contains(const std::string& system, const std::string& text) const {
    for (const Line& line : lines) {
      if (line.system == system && line.text == text) return true;
    }
    return false;
  }
  std::size_t count(const std::string& fragment) const {
    std::size_t n = 0;
    for (const Line& line : lines) n += line.text.find(fragment) != std::string::npos ? 1 : 0;
    return n;
  }
  std::vector<Line> lines;
  std::function<void(const Line&)> onEvent;
};

/// Attaches a LogCapture for the scope (and resets the log before and after).
struct CapturedLog {
  CapturedLog() : capture(std::make_shared<LogCapture>()) {
    cppd::log::reset();
    cppd::log::addObserver(capture);
  }
  ~CapturedLog() { cppd::log::reset(); }
  LogCapture* operator->() const { return capture.get(); }
  std::shared_ptr<LogCapture> capture;
};

class ScriptedProtocol;

/// What a ScriptedProtocol does on each event; unset steps do nothing.
struct Script {
  std::function<void(ScriptedProtocol&)> made;
  std::function<void(ScriptedProtocol&, std::string_view)> data;
  std::function<void(ScriptedProtocol&, const cppd::DisconnectReason&)> lost;
  std::function<void(ScriptedProtocol&)> stopRequested;  // unset: Protocol's (loseConnection)
  std::function<void(ScriptedProtocol&)> stopDeadline;
};

/// A protocol driven by a Script that records what happened to it.
class ScriptedProtocol final : public cppd::Protocol {
 public:
  explicit ScriptedProtocol(const Script& script) : script_(script) {}
  void connectionMade() override {
    if (script_.made) script_.made(*this);
  }
  void dataReceived(std::string_view data) override {
    received += data;
    if (script_.data) script_.data(*this, data);
  }
  void connectionLost(const cppd::DisconnectReason& reason) override {
    lost = reason;
    if (script_.lost) script_.lost(*this, reason);
  }
  void stopRequested() override {
    ++stopsRequested;
    if (!script_.stopRequested) return Protocol::stopRequested();
    script_.stopRequested(*this);
  }
  void stopDeadline() override {
    ++deadlines;
    if (script_.stopDeadline) script_.stopDeadline(*this);
  }
  int stopsRequested = 0;
  int deadlines = 0;
  std::string received;
  std::optional<cppd::DisconnectReason> lost;

 private:
  const Script& script_;
};

/// Builds ScriptedProtocols (or refuses, when refuse is set) and keeps them for the test to inspect.
class ScriptedFactory final : public cppd::Factory {
 public:
  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address& addr) override {
    if (onBuild) onBuild(addr);
    if (refuse) return nullptr;
    built.push_back(std::make_shared<ScriptedProtocol>(script));
    return built.back();
  }
  Script script;
  bool refuse = false;
  std::function<void(const cppd::Address&)> onBuild;
  std::vector<std::shared_ptr<ScriptedProtocol>> built;
};

/// A StreamServerService with a ScriptedFactory on 127.0.0.1, port 0 unless told otherwise.
struct Server {
  explicit Server(cppd::Reactor& reactor_, const cppd::Endpoint& endpoint = cppd::Endpoint::tcp(0, "127.0.0.1"))
      : reactor(reactor_), factory(std::make_shared<ScriptedFactory>()), service(endpoint, factory, reactor_) {}

  void start() {
    service.privilegedStartService();
    service.startService();
  }
  cppd::Address address() const { return service.boundAddress().value(); }
  void stop() { runUntil(reactor, service.stopService()); }

  cppd::Reactor& reactor;
  std::shared_ptr<ScriptedFactory> factory;
  cppd::StreamServerService service;
};

}  // namespace loopback
