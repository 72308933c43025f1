#include "poetry_service.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <cppd/posix/io.hpp>
#include <cppd/stream_server_service.hpp>

#include "poetry_protocol.hpp"

namespace fastpoetry {
namespace {

[[noreturn]] void fail(const char* operation, const std::string& path, int errnum) {
  throw cppd::Error(cppd::ErrorKind::noInput, cppd::systemError(operation, path, errnum).what());
}

}  // namespace

std::string readPoem(int fd, const std::string& path) {
  std::string poem;
  // No limit of its own: the operator chose the poem, and it is served whole from memory.
  if (const int error = cppd::posix::readAll(fd, poem, poem.max_size()); error != 0) fail("read poem", path, error);
  return poem;
}

PoetryService::PoetryService(std::string poemPath, const cppd::Endpoint& endpoint)
    : poemPath_(std::move(poemPath)), factory_(std::make_shared<PoetryFactory>()) {
  poemFd_.reset(::open(poemPath_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!poemFd_) openError_ = errno;
  addService(std::make_shared<cppd::StreamServerService>(endpoint, factory_));
}

PoetryService::~PoetryService() = default;

void PoetryService::startService() {
  if (!poemFd_) fail("open poem", poemPath_, openError_);
  factory_->setPoem(std::make_shared<const Poem>(readPoem(poemFd_.get(), poemPath_)));
  cppd::log::info("loaded a poem from: {}", poemPath_);
  MultiService::startService();
}

}  // namespace fastpoetry
