#include "control/control_server.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/address.hpp>
#include <cppd/reactor.hpp>

#include "control/controlled_daemon.hpp"
#include "unit/support/loopback.hpp"
#include "unit/support/temp_dir.hpp"

using cppd::runner::ControlServer;
using cppd::runner::ControlSettings;

namespace {

class IdleDaemon final : public cppd::runner::IControlledDaemon {
 public:
  cppd::runner::DaemonFacts status() const override { return {}; }
  std::vector<cppd::runner::ServiceFacts> services() const override { return {}; }
  std::vector<cppd::runner::PluginFacts> plugins() const override { return {}; }
  std::vector<cppd::runner::ListenerFacts> listeners() const override { return {}; }
  void stop() override {}
  void reopen() override {}
  unsigned changeWorkers(int) override { return 0; }
  pid_t replaceWorker(unsigned) override { return 0; }
  std::string reload(bool) override { return "started"; }
  std::vector<cppd::runner::MetricSample> metrics() const override { return {}; }
  bool ready() const override { return true; }
};

}  // namespace

// The integration test (control_test) floods the real daemon, whose deadline is 10 s: the deadline itself is
// proved here, with a short one, instead of by waiting 10 s there.
TEST_CASE("A control client silent past its deadline is closed, and its slot serves the next client", "[control]") {
  using namespace std::chrono;
  cppd::test::TempDir dir;
  cppd::Reactor reactor;
  IdleDaemon daemon;
  const std::string path = dir / "cppd.ctl";
  ControlSettings settings;
  settings.path = path;
  settings.deadline = milliseconds(200);
  settings.maxClients = 1;
  ControlServer server(reactor, daemon, settings);
  loopback::serveWhile(reactor, [&] {
    const auto start = steady_clock::now();
    {
      loopback::Client silent(cppd::Address::unixSocket(path));
      CHECK(silent.readAll().empty());  // closed by the server, having said nothing
    }
    const auto waited = steady_clock::now() - start;
    CHECK(waited >= milliseconds(199));  // libuv's timers count whole milliseconds, truncated
    CHECK(waited < seconds(10));
    loopback::Client next(cppd::Address::unixSocket(path));
    next.send("{\"command\": \"status\"}\n");
    CHECK(next.readAll(1) == "{");  // answered: the slot was freed
  });
}
