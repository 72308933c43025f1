#include "streamed_output.hpp"

#include <utility>

namespace ftp {
namespace {

constexpr std::size_t kPieceSize = 16 * 1024;
constexpr std::size_t kMaxExamined = 1024;

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

Producer linesOf(EntrySource entries, LineFormat line) {
  return [entries = std::move(entries), line = std::move(line)](std::string& out) {
    ListEntry entry;
    for (std::size_t examined = 0; out.size() < kPieceSize && examined < kMaxExamined; ++examined) {
      if (!entries(entry)) return false;
      if (!entry.name.empty()) out += line(entry);
    }
    return true;
  };
}

}  // namespace ftp
