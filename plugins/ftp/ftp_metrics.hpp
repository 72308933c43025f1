#pragma once

// What the FTP plugin counts for the operator: logins by result, completed uploads and downloads, and the bytes
// they moved (data connections belong to no listening service, so the SDK's own byte counts miss them).

#include <cstdint>

#include <cppd/metrics.hpp>

namespace ftp {

class FtpMetrics {
 public:
  /// Registers the series once per process (the first call; the factory makes it, so a bad name fails the start).
  static const FtpMetrics& get();

  void login(bool ok) const noexcept { (ok ? loginsOk_ : loginsFailed_).add(); }
  /// A transfer that ended: complete uploads and RETRs count, and every byte that was moved.
  void transfer(bool upload, bool download, bool complete, std::uint64_t bytes) const noexcept;

 private:
  FtpMetrics();
  cppd::Counter loginsOk_;
  cppd::Counter loginsFailed_;
  cppd::Counter uploads_;
  cppd::Counter downloads_;
  cppd::Counter bytesReceived_;
  cppd::Counter bytesSent_;
};

}  // namespace ftp
