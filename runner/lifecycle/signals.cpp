#include "lifecycle/signals.hpp"

#include <signal.h>

#include <csignal>

#include <fmt/core.h>

#include <cppd/log.hpp>

namespace cppd::runner {

void unblockInheritedSignals() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  for (const int signum : {SIGUSR1, SIGHUP, SIGUSR2}) ::sigaction(signum, &ignore, nullptr);
  sigset_t set;
  ::sigemptyset(&set);
  for (const int signum : {SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGUSR2, SIGCHLD}) ::sigaddset(&set, signum);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void ignoreLogSignalsUntilHandled() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  // A reload's new image comes with them blocked (one sent during the reload is pending, and kept until the
  // supervisor's handlers exist): ignoring it now would discard that rotation, reopen or reload.
  sigset_t blocked;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &blocked);
  for (const int signum : {SIGUSR1, SIGHUP, SIGUSR2}) {
    if (::sigismember(&blocked, signum) != 1) ::sigaction(signum, &ignore, nullptr);
  }
}

void ignoreStopSignals() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  for (const int signum : {SIGTERM, SIGINT}) ::sigaction(signum, &ignore, nullptr);
}

void ignoreBrokenPipes() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);
}

void unblockStopSignals() {
  sigset_t stop;
  ::sigemptyset(&stop);
  ::sigaddset(&stop, SIGTERM);
  ::sigaddset(&stop, SIGINT);
  ::pthread_sigmask(SIG_UNBLOCK, &stop, nullptr);
}

namespace {

sigset_t supervisorSignals() {
  sigset_t set;
  ::sigemptyset(&set);
  for (const int signum : {SIGTERM, SIGINT, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2, SIGHUP}) ::sigaddset(&set, signum);
  return set;
}

}  // namespace

void holdSupervisorSignals() {
  const sigset_t set = supervisorSignals();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool releaseSupervisorSignals() {
  sigset_t pending;
  ::sigemptyset(&pending);
  ::sigpending(&pending);
  const sigset_t set = supervisorSignals();
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  return ::sigismember(&pending, SIGTERM) == 1 || ::sigismember(&pending, SIGINT) == 1;
}

std::string signalName(int signum) {
  // glibc's abbreviation ("ABRT"), or the number for one it does not name (a real-time signal).
  if (const char* abbreviation = ::sigabbrev_np(signum)) return fmt::format("SIG{}", abbreviation);
  return fmt::format("signal {}", signum);
}

SignalHandlers::SignalHandlers(Reactor& reactor, Actions actions) : actions_(std::move(actions)) {
  for (const int signum : {SIGTERM, SIGINT}) {
    watches_.push_back(reactor.onSignal(signum, [this](int s) { onStopSignal(s); }));
  }
  watches_.push_back(reactor.onSignal(SIGUSR1, [this](int) {
    if (actions_.rotate) actions_.rotate();
  }));
  watches_.push_back(reactor.onSignal(SIGHUP, [this](int) {
    if (actions_.reopen) actions_.reopen();
  }));
  if (actions_.reload) {  // otherwise SIGUSR2 stays ignored (ignoreLogSignalsUntilHandled)
    watches_.push_back(reactor.onSignal(SIGUSR2, [this](int) { actions_.reload(); }));
  }
}

SignalHandlers::~SignalHandlers() { close(); }

void SignalHandlers::close() {
  for (auto& watch : watches_) watch.stop();
  watches_.clear();
}

void SignalHandlers::onStopSignal(int signum) {
  if (!stopping_) {
    stopping_ = true;
    log::info("Received {}, shutting down.", signalName(signum));
    if (actions_.shutdown) actions_.shutdown(signum);
    return;
  }
  log::warn("Received {} again while shutting down: forcing the exit.", signalName(signum));
  if (actions_.force) actions_.force(signum);
}

}  // namespace cppd::runner
