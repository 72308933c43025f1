#include "poetry_service.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <cppd/error.hpp>
#include <cppd/log.hpp>
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
  struct stat info {};
  if (::fstat(fd, &info) == 0 && info.st_size > 0) poem.reserve(static_cast<std::size_t>(info.st_size));
  char buffer[65536];
  off_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("read poem", path, errno);
    }
    poem.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
  return poem;
}

PoetryService::PoetryService(std::string poemPath, const cppd::Endpoint& endpoint)
    : poemPath_(std::move(poemPath)), factory_(std::make_shared<PoetryFactory>()) {
  poemFd_ = ::open(poemPath_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (poemFd_ < 0) openError_ = errno;
  addService(std::make_shared<cppd::StreamServerService>(endpoint, factory_));
}

PoetryService::~PoetryService() {
  if (poemFd_ >= 0) ::close(poemFd_);
}

void PoetryService::startService() {
  if (poemFd_ < 0) fail("open poem", poemPath_, openError_);
  factory_->setPoem(std::make_shared<const std::string>(readPoem(poemFd_, poemPath_)));
  cppd::log::info("loaded a poem from: {}", poemPath_);
  MultiService::startService();
}

}  // namespace fastpoetry
