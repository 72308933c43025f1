// ITransport::sendFile on a real loopback connection (StreamConnection), as the web plugin uses it.
#include <cppd/shared_file.hpp>
#include <cppd/transport.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include <cppd/reactor.hpp>

#include "unit/support/loopback.hpp"

using loopback::Client;
using loopback::ScriptedProtocol;
using loopback::Server;

namespace {

// A temporary file of size bytes ('a'..'z' repeating), removed on destruction.
struct TempFile {
  explicit TempFile(std::size_t size) {
    char pattern[] = "/tmp/cppd-sendfile-XXXXXX";
    const int fd = ::mkstemp(pattern);
    path = pattern;
    content.resize(size);
    for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<char>('a' + i % 26);
    REQUIRE(::write(fd, content.data(), size) == static_cast<ssize_t>(size));
    ::close(fd);
  }
  ~TempFile() { ::unlink(path.c_str()); }
  std::string path;
  std::string content;
};

}  // namespace

TEST_CASE("sendFile keeps its place between writes, and a slow reader gets every byte", "[web][net]") {
  TempFile file(24 * 1024 * 1024);
  cppd::Reactor reactor;
  {
    Server server(reactor);
    std::shared_ptr<const cppd::SharedFile> shared = cppd::SharedFile::open(file.path);
    std::size_t bufferedAfter = 0;
    bool drained = false;
    server.factory->script.made = [&](ScriptedProtocol& p) {
      p.transport().write("<");
      p.transport().sendFile(shared, 5, file.content.size() - 10);
      p.transport().write(">");
      p.transport().writeShared(std::make_shared<const std::string>("["));
      p.transport().sendFile(shared, 0, 3);
      p.transport().writeSequence({"]", "!"});
      bufferedAfter = p.transport().bufferedBytes();
      p.transport().whenDrained([&] { drained = true; });
      p.transport().loseConnection();
    };
    server.start();
    std::string received;
    loopback::serveWhile(reactor, [&] { received = Client(server.address()).readAll(); });
    server.stop();
    const std::string expected = "<" + file.content.substr(5, file.content.size() - 10) + ">[abc]!";
    CHECK(received.size() == expected.size());
    CHECK(received == expected);
    CHECK(bufferedAfter > 0);
    CHECK(drained);
    CHECK(shared.use_count() == 1);  // the transport dropped its references
    REQUIRE(server.factory->built.size() == 1);
    REQUIRE(server.factory->built[0]->lost);
    CHECK(server.factory->built[0]->lost->clean);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("writeAndSendFile sends the head, then the range, in order with the writes around it", "[web][net]") {
  TempFile file(3 * 1024 * 1024);
  cppd::Reactor reactor;
  {
    Server server(reactor);
    std::shared_ptr<const cppd::SharedFile> shared = cppd::SharedFile::open(file.path);
    const std::string head(70000, 'h');  // larger than one packet, so part of it may wait behind MSG_MORE
    server.factory->script.made = [&](ScriptedProtocol& p) {
      p.transport().writeAndSendFile(head, shared, 7, file.content.size() - 7);  // nothing queued: MSG_MORE
      p.transport().writeAndSendFile("second head|", shared, 0, 5);             // behind the first: queued
      p.transport().write("|end");
      p.transport().loseConnection();
    };
    server.start();
    std::string received;
    loopback::serveWhile(reactor, [&] { received = Client(server.address()).readAll(); });
    server.stop();
    const std::string expected = head + file.content.substr(7) + "second head|" + file.content.substr(0, 5) + "|end";
    CHECK(received.size() == expected.size());
    CHECK(received == expected);
    CHECK(shared.use_count() == 1);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("sendFile of a range past the end of the file aborts the connection, naming the shortfall", "[web][net]") {
  TempFile file(1000);
  cppd::Reactor reactor;
  {
    Server server(reactor);
    server.factory->script.made = [&](ScriptedProtocol& p) {
      p.transport().sendFile(cppd::SharedFile::open(file.path), 0, 2000);
      p.transport().loseConnection();
    };
    server.start();
    std::string received;
    loopback::serveWhile(reactor, [&] {
      try {
        received = Client(server.address()).readAll();
      } catch (const std::runtime_error&) {
        // a reset is also a fine way to learn the answer was cut short
      }
    });
    server.stop();
    CHECK(received.size() <= 1000);
    REQUIRE(server.factory->built.size() == 1);
    REQUIRE(server.factory->built[0]->lost);
    CHECK_FALSE(server.factory->built[0]->lost->clean);
    CHECK(server.factory->built[0]->lost->message.find("the file ended at byte 1000") != std::string::npos);
  }
  REQUIRE(reactor.tryClose());
}

TEST_CASE("SharedFile::open names the file it cannot open", "[web]") {
  CHECK_THROWS_WITH(cppd::SharedFile::open("/nonexistent/cppd-file"),
                    Catch::Contains("open file /nonexistent/cppd-file: No such file or directory"));
}
