#pragma once

#include <memory>
#include <string>

#include <cppd/factory.hpp>
#include <cppd/protocol.hpp>

namespace fastpoetry {

/// The poem every connection is sent, and the start of the line logged for each ("sending 3000 bytes of poetry
/// to "), made once when the poem is loaded rather than formatted per connection.
struct Poem {
  explicit Poem(std::string poemText);
  std::string text;
  std::string logPrefix;
};

/// Sends the whole poem to the client, then closes the connection once it has been written.
class PoetryProtocol final : public cppd::Protocol {
 public:
  explicit PoetryProtocol(std::shared_ptr<const Poem> poem);
  void connectionMade() override;

 private:
  std::shared_ptr<const Poem> poem_;
};

/// Builds a PoetryProtocol per connection, all sharing one poem buffer. Loop thread only.
class PoetryFactory final : public cppd::Factory {
 public:
  /// Installs the poem later connections get (PoetryService does it in startService).
  void setPoem(std::shared_ptr<const Poem> poem) { poem_ = std::move(poem); }

  /// Refuses connections (nullptr) while no poem is loaded.
  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address& addr) override;

 private:
  std::shared_ptr<const Poem> poem_;
};

}  // namespace fastpoetry
