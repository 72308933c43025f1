// A test plugin for the runner's start-up and shutdown paths: its service can refuse to stop (a stop that never
// completes, for the shutdown timeout and the second-signal force), fail at privileged start or start, or die
// without a word (for the launcher's EOF report), or block the event loop for ever (for the forced exit that
// cannot rely on the loop). The -later modes misbehave --after milliseconds into serving, so a supervisor
// has seen the worker start first: block-later stops the loop's heartbeat, exit-later dies with status 3 (a crash
// loop when every replacement does the same).

#include <time.h>
#include <unistd.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <cppd/plugin.hpp>
#include <cppd/reactor.hpp>
#include <cstdlib>

namespace {

class StuckService final : public cppd::Service {
 public:
  StuckService(std::string mode, unsigned afterMs) : mode_(std::move(mode)), afterMs_(afterMs) {}

  void privilegedStartService() override {
    if (mode_ == "fail-privileged") {
      throw cppd::Error(cppd::ErrorKind::unavailable, "stuck: privileged start refused on purpose");
    }
    if (mode_ == "slow-privileged") {  // binding takes --after ms: a window for a signal sent during the start
      cppd::log::info("StuckService privileged start waiting {} ms", afterMs_);
      cppd::log::flush();
      struct timespec left {static_cast<time_t>(afterMs_ / 1000), static_cast<long>(afterMs_ % 1000) * 1000000L};
      while (::nanosleep(&left, &left) != 0) {
      }
    }
    cppd::Service::privilegedStartService();
  }

  void startService() override {
    if (mode_ == "fail-start") throw cppd::Error(cppd::ErrorKind::config, "stuck: start refused on purpose");
    if (mode_ == "abort") std::abort();
    if (mode_ == "exit") ::_exit(3);
    if (mode_ == "block-start") {
      cppd::log::info("StuckService blocking its start");
      blockForever();
    }
    cppd::Service::startService();
    cppd::log::info("StuckService started (mode {})", mode_);
    if (mode_ == "block-loop") {
      block_ = cppd::globalReactor().callLater(std::chrono::milliseconds(1), [] {
        cppd::log::info("StuckService blocking the loop");
        blockForever();
      });
    }
    if (mode_ == "block-later" || mode_ == "exit-later") misbehaveLater();
  }

  cppd::Completion stopService() override {
    cppd::Service::stopService();
    cppd::log::info("StuckService stopping (mode {})", mode_);
    if (mode_ == "stuck") return pending_;  // never fires
    return cppd::Completion::done();
  }

 private:
  void misbehaveLater() {
    const bool block = mode_ == "block-later";
    block_ = cppd::globalReactor().callLater(std::chrono::milliseconds(afterMs_), [block] {
      if (!block) ::_exit(3);
      cppd::log::info("StuckService blocking the loop");
      blockForever();
    });
  }

  // A plugin stuck in a blocking call: signal handlers still run (pause returns after each), the loop never does.
  [[noreturn]] static void blockForever() {
    for (;;) ::pause();
  }

  std::string mode_;
  unsigned afterMs_;
  cppd::Completion pending_;
  cppd::DelayedCall block_;
};

class StuckMaker final : public cppd::IServiceMaker {
 public:
  std::string tapname() const override { return "stuck"; }
  std::string description() const override { return "A service that misbehaves at start or stop (runner tests)."; }
  std::vector<cppd::OptionSpec> options() const override {
    return {{.longName = "mode",
             .shortName = "m",
             .help = "stuck, clean, fail-privileged, slow-privileged, fail-start, abort, exit, block-start, block-loop, "
                     "block-later or exit-later.",
             .defaultValue = "stuck"},
            {.longName = "after",
             .shortName = "a",
             .help = "Milliseconds of serving before a -later mode blocks the loop or exits (slow-privileged: of waiting).",
             .defaultValue = "500",
             .kind = cppd::OptionKind::count}};
  }
  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    return std::make_shared<StuckService>(options.get<std::string>("mode"), options.get<unsigned>("after"));
  }
};

}  // namespace

CPPD_PLUGIN(StuckMaker)
