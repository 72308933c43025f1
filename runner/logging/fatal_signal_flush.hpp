#pragma once

// A crash must not take the log lines of its last loop iterations with it: lines are held back until the end of
// the iteration after theirs (LineBuffer), so a plugin that dies of SIGSEGV or abort() would otherwise leave a log
// that stops before the lines it wrote just before dying, the ones that explain the crash.

namespace cppd::runner {

/// Installs, once per process, handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT that write every live
/// LineBuffer with write(2) (LineBuffer::drainAll, async-signal-safe), then put back the action that was there
/// before (the default one, or a sanitizer's) and let the signal take it: the process still dies of the signal,
/// with its core dump and exit status. The loop thread gets an alternate signal stack, so a stack overflow in a
/// plugin is flushed too. Call it on the thread that will run the loop. Further calls do nothing.
void installFatalSignalFlush();

}  // namespace cppd::runner
