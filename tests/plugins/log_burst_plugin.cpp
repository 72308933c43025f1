// A test plugin for the log's batching: each connection asks for a number of numbered log lines ("lines 20\n")
// and gets back the connection's number once they are logged, so a test can count every line against the
// connections it made. "segv 20\n" and "abort 20\n" log the lines and one more, then crash inside the same
// callback, before the loop iteration ends: the lines held back for that iteration must still reach the log.

#include <signal.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <cppd/endpoint.hpp>
#include <cppd/factory.hpp>
#include <cppd/log.hpp>
#include <cppd/plugin.hpp>
#include <cppd/protocol.hpp>
#include <cppd/stream_server_service.hpp>
#include <cppd/transport.hpp>

namespace {

long nextConnection = 0;  // loop thread only

[[noreturn]] void crash(const std::string& how) {
  if (how == "abort") std::abort();
  // A real fault, not a raise(): the fatal path must handle both. Not the null pointer itself, which UBSan
  // would report instead of letting the fault happen; the first page is never mapped either.
  volatile std::uintptr_t nowhere = 64;  // volatile: the compiler cannot see (or warn about) the address
  *reinterpret_cast<volatile int*>(nowhere) = 1;
  std::abort();
}

class BurstProtocol final : public cppd::Protocol {
 public:
  void dataReceived(std::string_view data) override {
    request_.append(data);
    const std::size_t end = request_.find('\n');
    if (end == std::string::npos) return;
    // "<what> <lines>": log that many numbered lines, then answer (lines) or crash (segv, abort).
    const std::string command = request_.substr(0, end);
    const std::size_t space = command.find(' ');
    const std::string what = command.substr(0, space);
    long lines = 0;
    if (space != std::string::npos) std::from_chars(command.data() + space + 1, command.data() + command.size(), lines);
    const long id = ++nextConnection;
    for (long k = 1; k <= lines; ++k) cppd::log::info("burst {} line {} of {}", id, k, lines);
    if (what == "segv" || what == "abort") {
      cppd::log::info("burst {} crashing with {}", id, what);
      crash(what);
    }
    transport().write(std::to_string(id) + "\n");
    transport().loseConnection();
  }

 private:
  std::string request_;
};

class BurstFactory final : public cppd::Factory {
 public:
  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address&) override {
    return std::make_shared<BurstProtocol>();
  }
};

class BurstMaker final : public cppd::IServiceMaker {
 public:
  std::string tapname() const override { return "logburst"; }
  std::string description() const override { return "Logs numbered lines per connection (log batching tests)."; }
  std::vector<cppd::OptionSpec> options() const override {
    return {{"port", "p", "The endpoint to listen on.", "tcp:0:interface=127.0.0.1", cppd::OptionKind::endpoint,
             false, nullptr}};
  }
  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    return std::make_shared<cppd::StreamServerService>(cppd::Endpoint::parse(options.text("port"), "127.0.0.1"),
                                                       std::make_shared<BurstFactory>());
  }
};

}  // namespace

CPPD_PLUGIN(BurstMaker)
