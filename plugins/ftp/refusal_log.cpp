#include "refusal_log.hpp"

#include <cppd/log.hpp>

namespace ftp {

RefusalLog::~RefusalLog() {
  for (auto& [kind, window] : windows_) window.end.cancel();
}

void RefusalLog::refused(const std::string& kind, const std::string& detail) {
  const auto found = windows_.find(kind);
  if (found != windows_.end()) {
    ++found->second.suppressed;
    return;
  }
  cppd::log::warn("{}", detail);
  Window& window = windows_[kind];
  window.end = reactor_.callLater(kWindow, [this, kind] { close(kind); });
}

void RefusalLog::close(const std::string& kind) {
  const auto found = windows_.find(kind);
  if (found == windows_.end()) return;
  const std::size_t suppressed = found->second.suppressed;
  windows_.erase(found);
  if (suppressed == 0) return;
  cppd::log::warn("refused {} more connection{} in the last second: {}", suppressed, suppressed == 1 ? "" : "s",
                  kind);
}

}  // namespace ftp
