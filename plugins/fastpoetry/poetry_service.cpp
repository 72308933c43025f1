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

std::string readPoem(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open poem", path, errno);
  std::string poem;
  struct stat info {};
  if (::fstat(fd, &info) == 0 && info.st_size > 0) poem.reserve(static_cast<std::size_t>(info.st_size));
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      fail("read poem", path, error);
    }
    poem.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return poem;
}

PoetryService::PoetryService(std::string poemPath, const cppd::Endpoint& endpoint)
    : poemPath_(std::move(poemPath)), factory_(std::make_shared<PoetryFactory>()) {
  addService(std::make_shared<cppd::StreamServerService>(endpoint, factory_));
}

void PoetryService::startService() {
  factory_->setPoem(std::make_shared<const std::string>(readPoem(poemPath_)));
  cppd::log::info("loaded a poem from: {}", poemPath_);
  MultiService::startService();
}

}  // namespace fastpoetry
