#pragma once

#include <functional>
#include <memory>
#include <string>

#include <cppd/transport.hpp>

#include "listing.hpp"

namespace ftp {

/// Makes a long answer piece by piece: appends the next piece to out and returns true while more follows.
using Producer = std::function<bool(std::string& out)>;

/// How many unsent bytes of a streamed answer a connection may hold before the next piece waits for the client
/// to read: a client that never reads costs at most this (plus one piece) in memory.
constexpr std::size_t kStreamHighWater = 64 * 1024;

/// Writes what produce makes to transport, waiting (whenDrained) while more than kStreamHighWater bytes are
/// unsent, and calls done after the last piece has been written (handed to the transport, not necessarily
/// sent). If the connection ends first, done is never called and produce is released. Loop thread only.
void writeStreamed(cppd::ITransport& transport, Producer produce, std::function<void()> done);

/// Formats one entry as a line, with its line end.
using LineFormat = std::function<std::string(const ListEntry&)>;

/// A producer of line(entry) for each entry of entries, about 16 KiB per piece, each entry read and formatted only
/// when its piece is made; a piece examines at most 1024 entries, so entries left out cannot make one piece long.
Producer linesOf(EntrySource entries, LineFormat line);

}  // namespace ftp
