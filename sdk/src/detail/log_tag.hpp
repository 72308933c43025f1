#pragma once

// A tag the log puts into every line's system field (a worker's "w2"); set once, before the process logs from
// more than one thread.

#include <string>
#include <string_view>

namespace cppd::detail {

void setLogTag(std::string tag);

/// The tag set by setLogTag, empty when none.
std::string_view logTag() noexcept;

/// Writes system with tag after its first part ("Proto,3,1.2.3.4" -> "Proto,w2,3,1.2.3.4", "-" -> "w2"): the
/// parts of system through escape(part), the tag and its comma through raw(piece). Without a tag, escape(system).
template <typename Escape, typename Raw>
void writeTaggedSystem(std::string_view system, std::string_view tag, Escape&& escape, Raw&& raw) {
  if (tag.empty()) {
    escape(system);
    return;
  }
  if (system.empty() || system == "-") {
    raw(tag);
    return;
  }
  const std::size_t comma = system.find(',');
  escape(system.substr(0, comma));
  raw(std::string_view(","));
  raw(tag);
  if (comma != std::string_view::npos) escape(system.substr(comma));
}

/// writeTaggedSystem with the process's tag into out, each part through escape (the text or the JSON format's).
void appendTaggedSystem(std::string_view system, std::string& out, void (*escape)(std::string_view, std::string&));

}  // namespace cppd::detail
