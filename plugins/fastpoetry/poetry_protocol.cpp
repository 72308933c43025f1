#include "poetry_protocol.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include <cppd/log.hpp>

namespace fastpoetry {

Poem::Poem(std::string poemText)
    : text(std::move(poemText)), logPrefix(fmt::format("sending {} bytes of poetry to ", text.size())) {}

PoetryProtocol::PoetryProtocol(std::shared_ptr<const Poem> poem) : poem_(std::move(poem)) {}

namespace {

// The connection's log line, put together on the stack: "sending N bytes of poetry to " and the peer's address
// (a UNIX socket path is at most 108 bytes), so it always fits; anything past the end would be cut, not written.
class LineOnStack {
 public:
  void append(std::string_view text) noexcept {
    const std::size_t count = std::min(text.size(), bytes_.size() - size_);
    std::memcpy(bytes_.data() + size_, text.data(), count);
    size_ += count;
  }
  std::string_view text() const noexcept { return {bytes_.data(), size_}; }

 private:
  std::array<char, 512> bytes_;
  std::size_t size_ = 0;
};

}  // namespace

void PoetryProtocol::connectionMade() {
  if (cppd::log::enabled(cppd::LogLevel::info)) {
    // Put together rather than formatted: the line is written for every connection, and formatting it with a
    // pattern cost as much as the rest of its way to the log file.
    LineOnStack line;
    line.append(poem_->logPrefix);
    transport().getPeer().appendTo(line);
    cppd::log::emit(cppd::LogLevel::info, line.text());
  }
  // No copy: every connection references the same buffer (the aliasing pointer shares the poem's ownership).
  transport().writeShared(std::shared_ptr<const std::string>(poem_, &poem_->text));
  transport().loseConnection();
}

std::shared_ptr<cppd::Protocol> PoetryFactory::buildProtocol(const cppd::Address&) {
  if (!poem_) return nullptr;
  return std::make_shared<PoetryProtocol>(poem_);
}

}  // namespace fastpoetry
