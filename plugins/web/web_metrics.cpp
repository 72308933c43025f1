#include "web_metrics.hpp"

#include <string>

namespace web {

WebMetrics::WebMetrics() {
  for (int i = 0; i < 5; ++i) {
    byClass_[i] = cppd::counter("web_requests_total", "HTTP requests answered, by status class.",
                                {{"code", std::to_string(i + 1) + "xx"}});
  }
  bytes_ = cppd::counter("web_response_bytes_total", "Bytes of the response bodies sent.");
}

const WebMetrics& WebMetrics::get() {
  static const WebMetrics metrics;
  return metrics;
}

void WebMetrics::answered(int status, std::uint64_t bytes) const noexcept {
  const int index = status / 100 - 1;
  if (index >= 0 && index < 5) byClass_[index].add();
  bytes_.add(bytes);
}

}  // namespace web
