#pragma once

// A tag the log puts into every line's system field (a worker's "w2"); set once, before the process logs from
// more than one thread.

#include <string>
#include <string_view>

namespace cppd::detail {

void setLogTag(std::string tag);

/// Appends system with the tag after its first part ("Proto,3,1.2.3.4" -> "Proto,w2,3,1.2.3.4", "-" -> "w2"),
/// each part through escape (the text or the JSON format's). Without a tag, just escape(system).
void appendTaggedSystem(std::string_view system, std::string& out, void (*escape)(std::string_view, std::string&));

}  // namespace cppd::detail
