#pragma once

// The whole `cppd ...` flow, from argv to the exit status: runner options, --version, --help and bare `cppd`
// (with the plugin listing), --list-plugins, unknown commands, a plugin's
// --help and options, makeService, then the ApplicationRunner. main() only calls this.

namespace cppd::runner {

/// Returns the process exit status (sysexits codes through cppd::exitCodeFor; usage errors 64). Every error is
/// one line "cppd: <message>" on stderr.
int runCommandLine(int argc, char** argv);

}  // namespace cppd::runner
