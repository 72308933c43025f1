#pragma once

// Comparing a plugin's ABI stamp (see <cppd/plugin.hpp>), as recorded in its metadata note, with the one this
// cppd was built with. The runner does this before it loads the plugin.

#include <cppd/plugin.hpp>
#include <string>
#include <vector>

namespace cppd::runner {

/// The stamp this cppd was built with (the same initializer every plugin expands).
const cppd_abi_stamp& hostAbiStamp() noexcept;

/// One clause per field that differs, each naming both values: "built for cppd SDK ABI 1, this cppd provides
/// 2". Empty when the plugin may be used. A bad magic number or a record smaller than this cppd's ends the
/// comparison early (the later fields may not exist). fmt is compared by major version only.
/// Callers prefix the plugin's path.
std::vector<std::string> compareAbiStamps(const cppd_abi_stamp& plugin, const cppd_abi_stamp& host);

/// compareAbiStamps against hostAbiStamp(), joined with "; "; empty when the plugin may be used.
std::string abiStampProblem(const cppd_abi_stamp& plugin);

}  // namespace cppd::runner
