#pragma once

// What the web plugin counts for the operator: answers by status class and the bytes of their bodies.

#include <cstdint>

#include <cppd/metrics.hpp>

namespace web {

class WebMetrics {
 public:
  /// Registers the series once per process (the first call; the factory makes it, so a bad name fails the start).
  static const WebMetrics& get();

  /// One answer: its status (100..599, counted by class "1xx".."5xx") and the body bytes it carries.
  void answered(int status, std::uint64_t bytes) const noexcept;

 private:
  WebMetrics();
  cppd::Counter byClass_[5];
  cppd::Counter bytes_;
};

}  // namespace web
