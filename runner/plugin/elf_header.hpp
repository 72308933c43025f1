#pragma once

// A cheap pre-check of a plugin file before anything dlopens it: is it a complete ELF shared object for this
// machine? Catches text files, empty files, truncated copies and foreign architectures with a clear reason,
// instead of dlerror's "file too short" or "invalid ELF header".

#include <optional>
#include <string>

namespace cppd::runner {

/// Why the file at path cannot be a plugin for this process ("not an ELF file (starts with \"#!/b\")",
/// "truncated ELF file: 812 bytes, its headers describe 16440", "an ELF executable, not a shared object",
/// "built for machine 183 (this cppd runs on 62)"), or nullopt when the header looks right. Reads only the
/// file headers (program and section header tables); never executes anything. I/O errors are reasons too.
/// The runner checks the descriptor it will load (PluginFile), never a path it would resolve again.
std::optional<std::string> elfProblem(int fd);

/// elfProblem on the file at path (for tests and the fuzzer).
std::optional<std::string> elfProblem(const std::string& path);

}  // namespace cppd::runner
