#pragma once

// The series the SDK keeps for every listening service (label service = the service's name, as the control
// socket shows it): connections accepted, open, ended with an error, and bytes sent. Connections a plugin makes
// (connectTCP) belong to no service and count nowhere.

#include <string>
#include <string_view>

#include <cppd/metrics.hpp>

namespace cppd::detail {

struct ServiceMetrics {
  Counter accepted;
  Gauge active;
  Counter bytesSent;
  Counter errors;

  /// The series of the service a port opened in serviceContext belongs to ("" outside a named service: the
  /// default label the runner set). Never throws: past the series limit it logs and counts nothing.
  static ServiceMetrics forService(std::string_view serviceContext) noexcept;
};

/// The `service` label of ports opened outside a named service (set by setDefaultServiceLabel).
const std::string& serviceLabel() noexcept;

}  // namespace cppd::detail
