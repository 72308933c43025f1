#pragma once

#include <memory>
#include <string>

#include <cppd/endpoint.hpp>
#include <cppd/multi_service.hpp>
#include <cppd/posix/unique_fd.hpp>

namespace fastpoetry {

class PoetryFactory;

/// The poetry server: opens the poem when it is made, reads it in startService and serves it on the endpoint (a
/// StreamServerService child, so the port is bound in privilegedStartService, before privileges are dropped).
///
/// Opening the poem when the service is made resolves --poem on the host, before the runner's --chroot: the file
/// is then read through the descriptor held since, wherever the process's root has moved (the SDK's rule for
/// plugin paths, see cppd/service_maker.hpp).
class PoetryService final : public cppd::MultiService {
 public:
  /// poemPath should be absolute (the runner makes path options absolute). A poem that cannot be opened is
  /// reported by startService, as before.
  PoetryService(std::string poemPath, const cppd::Endpoint& endpoint);
  ~PoetryService() override;

  /// Reads the poem, logging "loaded a poem from: PATH", then starts listening. Throws cppd::Error
  /// (ErrorKind::noInput) "open poem /abs/path: No such file or directory" when the poem cannot be read.
  void startService() override;

  const std::string& poemPath() const noexcept { return poemPath_; }

 private:
  std::string poemPath_;
  cppd::posix::UniqueFd poemFd_;  // open since construction
  int openError_ = 0;   // the errno value when it could not be opened
  std::shared_ptr<PoetryFactory> factory_;
};

/// The whole file open as fd (read from its start; fd stays the caller's). Throws cppd::Error
/// (ErrorKind::noInput) naming the operation, path and the errno text.
std::string readPoem(int fd, const std::string& path);

}  // namespace fastpoetry
