#include <cppd/stream_server_service.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

#include "unit/support/loopback.hpp"
#include "unit/support/temp_dir.hpp"

using loopback::Client;
using loopback::ScriptedProtocol;
using loopback::Server;

namespace {

std::string errorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const cppd::Error& e) {
    return e.what();
  }
  return "";
}

// A protocol that counts the live instances of its kind, built by a factory that keeps none of them.
class CountedProtocol final : public cppd::Protocol {
 public:
  CountedProtocol(std::shared_ptr<int> alive, std::function<void()> onMade)
      : alive_(std::move(alive)), onMade_(std::move(onMade)) {
    ++*alive_;
  }
  ~CountedProtocol() override { --*alive_; }
  void connectionMade() override { onMade_(); }

 private:
  std::shared_ptr<int> alive_;
  std::function<void()> onMade_;
};

class CountingFactory final : public cppd::Factory {
 public:
  explicit CountingFactory(std::function<void()> onMade) : onMade_(std::move(onMade)) {}
  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address&) override {
    return std::make_shared<CountedProtocol>(alive, onMade_);
  }
  std::shared_ptr<int> alive = std::make_shared<int>(0);

 private:
  std::function<void()> onMade_;
};

void sendAndClose(ScriptedProtocol& p, const std::string& data) {
  p.transport().write(data);
  p.transport().loseConnection();
}

}  // namespace

TEST_CASE("StreamServerService listens in privilegedStartService and logs the port it bound, as twistd does", "[net]") {
  loopback::CapturedLog log;
  cppd::Reactor reactor;
  {
    Server server(reactor);
    CHECK_FALSE(server.service.boundAddress());
    server.service.privilegedStartService();
    REQUIRE(server.service.boundAddress());
    const std::uint16_t port = server.address().port();
    CHECK(port != 0);
    CHECK(server.address().host() == "127.0.0.1");
    CHECK_FALSE(server.service.running());
    server.service.startService();  // already listening: no second port
    CHECK(server.service.running());
    CHECK(server.factory->numPorts() == 1);
    server.stop();
    CHECK_FALSE(server.service.running());
    CHECK_FALSE(server.service.boundAddress());
    CHECK(server.factory->numPorts() == 0);
    CHECK(log->contains("-", "ScriptedFactory starting on " + std::to_string(port)));
    CHECK(log->contains("ScriptedFactory", "Starting factory ScriptedFactory"));
    CHECK(log->contains("-", "(TCP Port " + std::to_string(port) + " Closed)"));
    CHECK(log->contains("ScriptedFactory", "Stopping factory ScriptedFactory"));
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("startService listens when privilegedStartService was not called", "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.made = [](ScriptedProtocol& p) { sendAndClose(p, "hi"); };
    server.service.startService();
    std::string received;
    loopback::serveWhile(reactor, [&] { received = Client(server.address()).readAll(); });
    server.stop();
    CHECK(received == "hi");
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("A port in use fails privilegedStartService naming the endpoint and EADDRINUSE", "[net]") {
  cppd::Reactor reactor;
  {
    Server first(reactor);
    first.start();
    const cppd::Endpoint taken = cppd::Endpoint::tcp(first.address().port(), "127.0.0.1");
    Server second(reactor, taken);
    CHECK(errorOf([&] { second.service.privilegedStartService(); }) ==
          "listen " + taken.toString() + ": address already in use (EADDRINUSE)");
    CHECK_FALSE(second.service.boundAddress());
    CHECK(second.factory->numPorts() == 0);
    first.stop();
    // The port is free again as soon as the stop has returned.
    second.start();
    CHECK(second.address().port() == taken.port());
    second.stop();
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("stopService lets a connection in flight finish before its completion fires", "[net]") {
  const std::string poem(16 * 1024 * 1024, 'p');
  cppd::Reactor reactor;
  {
    Server server(reactor);
    std::promise<void> stopped;
    cppd::Completion stop;
    bool firedBeforeClientRead = true;
    server.factory->script.made = [&](ScriptedProtocol& p) {
      p.transport().writeShared(std::make_shared<const std::string>(poem));
      p.transport().loseConnection();
      stop = server.service.stopService();
      firedBeforeClientRead = stop.fired();
      stopped.set_value();
    };
    server.start();
    std::string received;
    loopback::serveWhile(reactor, [&] {
      Client client(server.address());
      stopped.get_future().wait();  // the service is stopping before the client reads a byte
      received = client.readAll();
    });
    loopback::runUntil(reactor, stop);
    CHECK_FALSE(firedBeforeClientRead);
    CHECK(received.size() == poem.size());
    CHECK(received == poem);
    CHECK(stop.fired());
    CHECK_FALSE(stop.failure());
    CHECK(server.service.connectionCount() == 0);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("stopService asks idle connections to close and waits for them", "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.made = [&](ScriptedProtocol&) { reactor.stop(); };  // connected; say nothing
    server.start();
    std::string received = "unset";
    std::thread client([&, address = server.address()] { received = Client(address).readAll(); });
    loopback::runWithDeadline(reactor);  // until the connection is made
    const cppd::Completion stop = server.service.stopService();
    CHECK_FALSE(stop.fired());
    loopback::runUntil(reactor, stop);
    client.join();
    CHECK(received.empty());
    REQUIRE(server.factory->built.size() == 1);
    REQUIRE(server.factory->built[0]->lost);
    CHECK(server.factory->built[0]->lost->clean);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("stopService completes only after the protocols of its connections are gone", "[net]") {
  // Whoever waits for the stop (the runner, before it unloads the plugin the protocols' code lives in) must find
  // no protocol left.
  cppd::Reactor reactor;
  {
    auto factory = std::make_shared<CountingFactory>([&reactor] { reactor.stop(); });
    cppd::StreamServerService service(cppd::Endpoint::tcp(0, "127.0.0.1"), factory, reactor);
    service.privilegedStartService();
    service.startService();
    std::thread client([address = *service.boundAddress()] { Client(address).readAll(); });
    loopback::runWithDeadline(reactor);  // until the connection is made
    CHECK(*factory->alive == 1);
    int aliveWhenStopped = -1;
    const cppd::Completion stop = service.stopService();
    stop.whenDone([&](const std::optional<std::string>&) { aliveWhenStopped = *factory->alive; });
    loopback::runUntil(reactor, stop);
    client.join();
    CHECK(aliveWhenStopped == 0);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("Many concurrent clients each receive exactly the bytes written to them", "[net]") {
  std::string payload(256 * 1024, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.made = [&](ScriptedProtocol& p) {
      p.transport().writeShared(std::make_shared<const std::string>(payload));
      p.transport().loseConnection();
    };
    server.start();
    std::atomic<int> exact{0};
    loopback::serveWhile(reactor, [&] {
      std::vector<std::thread> clients;
      for (int t = 0; t < 8; ++t) {
        clients.emplace_back([&] {
          for (int i = 0; i < 25; ++i) {
            if (Client(server.address()).readAll() == payload) ++exact;
          }
        });
      }
      for (auto& thread : clients) thread.join();
    });
    server.stop();
    CHECK(exact == 200);
    CHECK(server.factory->built.size() == 200);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("Connections log in twistd's per-connection context, accepts in the factory's", "[net]") {
  loopback::CapturedLog log;
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->onBuild = [](const cppd::Address& addr) { cppd::log::info("building for {}", addr.host()); };
    server.factory->script.made = [](ScriptedProtocol& p) {
      cppd::log::info("made");
      p.transport().loseConnection();
    };
    server.factory->script.lost = [](ScriptedProtocol&, const cppd::DisconnectReason&) { cppd::log::info("lost"); };
    server.start();
    loopback::serveWhile(reactor, [&] {
      Client(server.address()).readAll();
      Client(server.address()).readAll();
    });
    server.stop();
    CHECK(log->contains("ScriptedFactory", "building for 127.0.0.1"));
    CHECK(log->contains("ScriptedProtocol,0,127.0.0.1", "made"));
    CHECK(log->contains("ScriptedProtocol,0,127.0.0.1", "lost"));
    CHECK(log->contains("ScriptedProtocol,1,127.0.0.1", "made"));
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("A factory that returns nullptr refuses the connection", "[net]") {
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->refuse = true;
    server.start();
    std::string received = "unset";
    loopback::serveWhile(reactor, [&] { received = Client(server.address()).readAll(); });
    server.stop();
    CHECK(received.empty());
    CHECK(server.factory->built.empty());
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("A UNIX socket endpoint serves clients and removes its socket file when stopped", "[net]") {
  loopback::CapturedLog log;
  cppd::test::TempDir dir;
  const std::string path = dir / "poetry.sock";
  cppd::Reactor reactor;
  {
    Server server(reactor, cppd::Endpoint::parse("unix:" + path + ":mode=600"));
    cppd::Address peer = cppd::Address::ipv4("x", 1);
    server.factory->script.made = [&](ScriptedProtocol& p) {
      peer = p.transport().getPeer();
      sendAndClose(p, "over unix");
    };
    server.start();
    CHECK(server.address() == cppd::Address::unixSocket(path));
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    std::string received;
    loopback::serveWhile(reactor, [&] { received = Client(server.address()).readAll(); });
    server.stop();
    CHECK(received == "over unix");
    CHECK(peer.toString() == "UNIXAddress(None)");
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK(log->contains("-", "ScriptedFactory starting on '" + path + "'"));
    CHECK(log->contains("-", "(UNIX Port " + path + " Closed)"));
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("A stale UNIX socket file is replaced, a live one is refused", "[net]") {
  cppd::test::TempDir dir;
  const std::string path = dir / "stale.sock";
  cppd::Reactor reactor;
  {
    const int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::bind(stale, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    ::close(stale);  // the file stays, nothing listens: what a crashed server leaves behind
    Server server(reactor, cppd::Endpoint::unixSocket(path));
    server.start();
    Server rival(reactor, cppd::Endpoint::unixSocket(path));
    CHECK(errorOf([&] { rival.service.privilegedStartService(); }) ==
          "listen unix:" + path + ": address already in use (EADDRINUSE)");
    server.stop();
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("A systemd endpoint adopts the socket passed as fd 3, by name or by index", "[net]") {
  // systemd passes sockets from fd 3 on; whatever this process (or the test runner) has there is moved aside.
  const int saved = ::fcntl(3, F_GETFD) != -1 ? ::fcntl(3, F_DUPFD_CLOEXEC, 10) : -1;
  if (saved != -1) ::close(3);
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 16) == 0);
  if (listener != 3) {  // the socket may already have been given fd 3
    REQUIRE(::dup2(listener, 3) == 3);
    ::close(listener);
  }
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "1", 1);
  const bool withNames = GENERATE(true, false);
  if (withNames) {
    ::setenv("LISTEN_FDNAMES", "poetry", 1);
  } else {
    ::unsetenv("LISTEN_FDNAMES");
  }
  cppd::Reactor reactor;
  {
    Server server(reactor, cppd::Endpoint::parse(withNames ? "systemd:domain=INET:name=poetry"
                                                           : "systemd:domain=INET:index=0"));
    server.factory->script.made = [](ScriptedProtocol& p) { sendAndClose(p, "activated"); };
    server.start();
    std::string received;
    loopback::serveWhile(reactor, [&] { received = Client(server.address()).readAll(); });
    server.stop();
    CHECK(received == "activated");
    CHECK(::fcntl(3, F_GETFD) != -1);  // systemd's own descriptor is left alone

    Server wrongFamily(reactor, cppd::Endpoint::parse("systemd:domain=INET6:index=0"));
    CHECK(errorOf([&] { wrongFamily.service.privilegedStartService(); }) ==
          "listen systemd:domain=INET6:index=0: fd 3 is not an INET6 socket");
    Server outOfRange(reactor, cppd::Endpoint::parse("systemd:domain=INET:index=1"));
    CHECK(errorOf([&] { outOfRange.service.privilegedStartService(); }) ==
          "listen systemd:domain=INET:index=1: index 1 is out of range (LISTEN_FDS=1)");
  }
  ::close(3);
  if (saved != -1) {
    ::dup2(saved, 3);
    ::close(saved);
  }
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  REQUIRE(reactor.tryClose());
}

TEST_CASE("A systemd endpoint fails clearly when no sockets were passed", "[net]") {
  ::unsetenv("LISTEN_PID");
  cppd::Reactor reactor;
  {
    Server server(reactor, cppd::Endpoint::parse("systemd:domain=INET:index=0"));
    CHECK(errorOf([&] { server.service.privilegedStartService(); }) ==
          "listen systemd:domain=INET:index=0: no sockets were passed to this process (LISTEN_PID is not set; run "
          "under systemd socket activation with --nodaemon)");
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("Running out of file descriptors pauses accepting, logs once, and resumes when descriptors return", "[net]") {
  loopback::CapturedLog log;
  cppd::Reactor reactor;
  rlimit original{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &original) == 0);
  {
    Server server(reactor);
    server.factory->script.made = [](ScriptedProtocol& p) { sendAndClose(p, "survived"); };
    server.start();
    Client client(server.address());  // connected, waiting in the backlog

    rlimit low = original;
    low.rlim_cur = std::min<rlim_t>(original.rlim_cur, 512);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    std::vector<int> fillers;
    for (int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC); fd >= 0; fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) {
      fillers.push_back(fd);
    }
    REQUIRE(errno == EMFILE);
    // Give descriptors back a while after the first failure, so several retries fail first.
    log->onEvent = [&](const loopback::LogCapture::Line& line) {
      if (line.text.find("pausing accepts") == std::string::npos) return;
      reactor.callLater(std::chrono::milliseconds(60), [&] {
        for (int fd : fillers) ::close(fd);
        fillers.clear();
      });
    };
    std::string received;
    loopback::serveWhile(reactor, [&] { received = client.readAll(); });
    for (int fd : fillers) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &original);
    server.stop();
    CHECK(received == "survived");
    CHECK(log->count("too many open files (EMFILE); pausing accepts") == 1);
    CHECK(log->count("accepting connections on tcp:") == 1);
  }
  REQUIRE(reactor.tryClose());
}
