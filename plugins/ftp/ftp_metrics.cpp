#include "ftp_metrics.hpp"

namespace ftp {

FtpMetrics::FtpMetrics() {
  const char* loginsHelp = "FTP login attempts answered, by result.";
  loginsOk_ = cppd::counter("ftp_logins_total", loginsHelp, {{"result", "ok"}});
  loginsFailed_ = cppd::counter("ftp_logins_total", loginsHelp, {{"result", "failed"}});
  uploads_ = cppd::counter("ftp_uploads_total", "Uploads (STOR, APPE, STOU) completed.");
  downloads_ = cppd::counter("ftp_downloads_total", "Downloads (RETR) completed.");
  bytesReceived_ = cppd::counter("ftp_bytes_received_total", "Bytes of uploads written.");
  bytesSent_ = cppd::counter("ftp_bytes_sent_total", "Bytes of downloads and listings sent.");
}

const FtpMetrics& FtpMetrics::get() {
  static const FtpMetrics metrics;
  return metrics;
}

void FtpMetrics::transfer(bool upload, bool download, bool complete, std::uint64_t bytes) const noexcept {
  if (upload) {
    bytesReceived_.add(bytes);
    if (complete) uploads_.add();
    return;
  }
  if (complete) bytesSent_.add(bytes);  // a failed download's progress is not known
  if (complete && download) downloads_.add();
}

}  // namespace ftp
