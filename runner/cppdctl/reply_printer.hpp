#pragma once

// cppdctl's human-readable form of a reply's result: "key: value" lines, lists indented under their key.
// Strings from the daemon (paths, names) are shown with control bytes escaped, so a file name cannot drive
// the terminal.

#include <string>

#include "control/json_value.hpp"

namespace cppd::ctl {

std::string formatResult(const runner::JsonValue& result);

}  // namespace cppd::ctl
