#include "poetry_protocol.hpp"

#include <utility>

#include <fmt/format.h>

#include <cppd/log.hpp>

namespace fastpoetry {

Poem::Poem(std::string poemText)
    : text(std::move(poemText)), logPrefix(fmt::format("sending {} bytes of poetry to ", text.size())) {}

PoetryProtocol::PoetryProtocol(std::shared_ptr<const Poem> poem) : poem_(std::move(poem)) {}

void PoetryProtocol::connectionMade() {
  if (cppd::log::enabled(cppd::LogLevel::info)) {
    // Put together rather than formatted: the line is written for every connection, and formatting it with a
    // pattern cost as much as the rest of its way to the log file.
    fmt::memory_buffer line;
    const std::string peer = transport().getPeer().toString();
    line.append(poem_->logPrefix);
    line.append(peer);
    cppd::log::emit(cppd::LogLevel::info, std::string_view(line.data(), line.size()));
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
