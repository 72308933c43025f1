#include <cppd/error.hpp>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace cppd {
namespace {

ErrorKind kindForErrno(int errnum) noexcept {
  switch (errnum) {
    case EACCES:
    case EPERM:
    case EROFS:
      return ErrorKind::permission;
    case ENOENT:
    case ENOTDIR:
      return ErrorKind::noInput;
    case EADDRINUSE:
    case EADDRNOTAVAIL:
    case ECONNREFUSED:
      return ErrorKind::unavailable;
    case EIO:
    case ENOSPC:
    case EDQUOT:
      return ErrorKind::io;
    default:
      return ErrorKind::os;
  }
}

}  // namespace

Error::Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
Error::~Error() = default;

UsageError::UsageError(const std::string& message) : Error(ErrorKind::usage, message) {}
UsageError::~UsageError() = default;

Error systemError(const std::string& operation, const std::string& target, int errnum) {
  return Error(kindForErrno(errnum), fmt::format("{} {}: {}", operation, target, std::strerror(errnum)));
}

int exitCodeFor(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::usage: return 64;
    case ErrorKind::data: return 65;
    case ErrorKind::noInput: return 66;
    case ErrorKind::unavailable: return 69;
    case ErrorKind::software: return 70;
    case ErrorKind::os: return 71;
    case ErrorKind::cantCreate: return 73;
    case ErrorKind::io: return 74;
    case ErrorKind::alreadyRunning: return 75;
    case ErrorKind::permission: return 77;
    case ErrorKind::config: return 78;
  }
  return 70;
}

}  // namespace cppd
