#include <cppd/transport.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <cppd/log.hpp>

namespace cppd {
namespace {

constexpr std::uint64_t kPieceSize = 64 * 1024;

}  // namespace

ITransport::~ITransport() = default;

void ITransport::loseWriteConnection() { loseConnection(); }

void ITransport::writeAndSendFile(std::string_view head, std::shared_ptr<const SharedFile> file, std::uint64_t offset,
                                  std::uint64_t length) {
  write(head);
  sendFile(std::move(file), offset, length);
}

// A transport that cannot send from a file: read the range and write() it, which keeps the order with the
// surrounding writes (the bytes are buffered by the transport like any other write).
void ITransport::sendFile(std::shared_ptr<const SharedFile> file, std::uint64_t offset, std::uint64_t length) {
  if (!file || length == 0 || !connected()) return;
  std::string piece;
  const std::uint64_t end = offset + length;
  while (offset < end && connected()) {
    piece.resize(static_cast<std::size_t>(std::min(kPieceSize, end - offset)));
    const ssize_t n = ::pread(file->fd(), piece.data(), piece.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      log::error("sendFile: {} at offset {}", n == 0 ? "the file ended early" : std::strerror(errno), offset);
      abortConnection();
      return;
    }
    write(std::string_view(piece.data(), static_cast<std::size_t>(n)));
    offset += static_cast<std::uint64_t>(n);
  }
}

}  // namespace cppd
