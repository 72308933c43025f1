#include "logging/fatal_signal_flush.hpp"

#include <signal.h>

#include <atomic>
#include <memory>

#include "logging/line_buffer.hpp"

namespace cppd::runner {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
constexpr int kCount = sizeof kFatalSignals / sizeof kFatalSignals[0];

// What ran before us for each signal, put back before the signal is let through. Written before the handlers
// are installed, read only by them.
struct sigaction previous[kCount];
std::atomic<bool> installed{false};

int indexOf(int signum) noexcept {
  for (int i = 0; i < kCount; ++i) {
    if (kFatalSignals[i] == signum) return i;
  }
  return -1;
}

void onFatalSignal(int signum, siginfo_t* info, void*) {
  LineBuffer::drainAll();
  const int i = indexOf(signum);
  if (i >= 0) ::sigaction(signum, &previous[i], nullptr);
  else ::signal(signum, SIG_DFL);
  // A fault (si_code > 0) happens again when the handler returns, now under the previous action. A signal that
  // was sent (kill, raise, abort) is sent again: it stays pending while this handler runs and is delivered
  // under the previous action as soon as it returns.
  if (info == nullptr || info->si_code <= 0) ::raise(signum);
}

// A plugin that overflows its stack dies of SIGSEGV with no stack left to run a handler on.
void giveThisThreadASignalStack() {
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0) return;  // one exists
  constexpr std::size_t kSize = 64 * 1024;
  static const std::unique_ptr<char[]> memory(new char[kSize]);  // lives as long as the process
  stack_t ours{};
  ours.ss_sp = memory.get();
  ours.ss_size = kSize;
  ::sigaltstack(&ours, nullptr);
}

}  // namespace

void installFatalSignalFlush() {
  if (installed.exchange(true)) return;
  giveThisThreadASignalStack();
  struct sigaction ours {};
  ours.sa_sigaction = onFatalSignal;
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK;
  ::sigemptyset(&ours.sa_mask);
  for (int i = 0; i < kCount; ++i) ::sigaction(kFatalSignals[i], nullptr, &previous[i]);
  for (int i = 0; i < kCount; ++i) ::sigaction(kFatalSignals[i], &ours, nullptr);
}

}  // namespace cppd::runner
