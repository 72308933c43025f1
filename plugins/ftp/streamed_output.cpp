#include "streamed_output.hpp"

#include <utility>

namespace ftp {
namespace {

constexpr std::size_t kPieceSize = 16 * 1024;

}  // namespace

void writeStreamed(cppd::ITransport& transport, Producer produce, std::function<void()> done) {
  while (transport.connected()) {
    if (transport.bufferedBytes() > kStreamHighWater) {
      // Pending callbacks are dropped if the connection ends, so the reference to transport cannot dangle.
      transport.whenDrained([&transport, produce = std::move(produce), done = std::move(done)]() mutable {
        writeStreamed(transport, std::move(produce), std::move(done));
      });
      return;
    }
    std::string piece;
    const bool more = produce(piece);
    if (!piece.empty()) transport.write(piece);
    if (!more) {
      if (transport.connected()) done();
      return;
    }
  }
}

Producer linesOf(std::vector<ListEntry> entries, LineFormat line) {
  auto shared = std::make_shared<std::vector<ListEntry>>(std::move(entries));
  return [shared, line = std::move(line), next = std::size_t{0}](std::string& out) mutable {
    while (next < shared->size() && out.size() < kPieceSize) {
      out += line((*shared)[next++]);
    }
    return next < shared->size();
  };
}

}  // namespace ftp
