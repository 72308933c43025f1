#include "poetry_protocol.hpp"

#include <utility>

#include <cppd/log.hpp>

namespace fastpoetry {

PoetryProtocol::PoetryProtocol(std::shared_ptr<const std::string> poem) : poem_(std::move(poem)) {}

void PoetryProtocol::connectionMade() {
  cppd::log::info("sending {} bytes of poetry to {}", poem_->size(), transport().getPeer().toString());
  transport().writeShared(poem_);  // no copy: every connection references the same buffer
  transport().loseConnection();
}

std::shared_ptr<cppd::Protocol> PoetryFactory::buildProtocol(const cppd::Address&) {
  if (!poem_) return nullptr;
  return std::make_shared<PoetryProtocol>(poem_);
}

}  // namespace fastpoetry
