#pragma once

#include <memory>
#include <string>

#include <cppd/endpoint.hpp>
#include <cppd/multi_service.hpp>

namespace fastpoetry {

class PoetryFactory;

/// The poetry server: loads the poem in startService and serves it on the endpoint (a StreamServerService child,
/// so the port is bound in privilegedStartService, before privileges are dropped).
class PoetryService final : public cppd::MultiService {
 public:
  /// poemPath should be absolute (the runner makes path options absolute).
  PoetryService(std::string poemPath, const cppd::Endpoint& endpoint);

  /// Reads the poem, logging "loaded a poem from: PATH", then starts listening. Throws cppd::Error
  /// (ErrorKind::noInput) "open poem /abs/path: No such file or directory" when the poem cannot be read.
  void startService() override;

  const std::string& poemPath() const noexcept { return poemPath_; }

 private:
  std::string poemPath_;
  std::shared_ptr<PoetryFactory> factory_;
};

/// The whole file at path. Throws cppd::Error (ErrorKind::noInput) naming the operation, the path and the errno
/// text.
std::string readPoem(const std::string& path);

}  // namespace fastpoetry
