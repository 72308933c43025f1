#include "poetry_protocol.hpp"

#include <string_view>
#include <utility>

#include <fmt/compile.h>
#include <fmt/format.h>

#include <cppd/log.hpp>

namespace fastpoetry {

PoetryProtocol::PoetryProtocol(std::shared_ptr<const std::string> poem) : poem_(std::move(poem)) {}

void PoetryProtocol::connectionMade() {
  if (cppd::log::enabled(cppd::LogLevel::info)) {
    // Formatted with a pattern compiled in: this line is written for every connection, and parsing the pattern at
    // run time cost as much as the rest of the line's way to the log file.
    fmt::memory_buffer line;
    fmt::format_to(fmt::appender(line), FMT_COMPILE("sending {} bytes of poetry to {}"), poem_->size(),
                   transport().getPeer().toString());
    cppd::log::emit(cppd::LogLevel::info, std::string_view(line.data(), line.size()));
  }
  transport().writeShared(poem_);  // no copy: every connection references the same buffer
  transport().loseConnection();
}

std::shared_ptr<cppd::Protocol> PoetryFactory::buildProtocol(const cppd::Address&) {
  if (!poem_) return nullptr;
  return std::make_shared<PoetryProtocol>(poem_);
}

}  // namespace fastpoetry
