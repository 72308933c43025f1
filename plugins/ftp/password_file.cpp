#include "password_file.hpp"

#include <crypt.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include <cppd/error.hpp>
#include <cppd/posix/io.hpp>
#include <cppd/posix/unique_fd.hpp>

namespace ftp {
namespace {

[[noreturn]] void bad(const std::string& path, std::size_t line, const std::string& what) {
  throw cppd::Error(cppd::ErrorKind::config, fmt::format("password file {} line {}: {}", path, line, what));
}

bool constantTimeEqual(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

// True when hash is a complete crypt(3) hash libxcrypt can check against: a known method, and hashing any
// phrase with it as the setting gives a string of the same length (a plain password or a bare salt does not).
bool usableHash(const std::string& hash) {
  const int check = ::crypt_checksalt(hash.c_str());
  if (check != CRYPT_SALT_OK && check != CRYPT_SALT_METHOD_LEGACY) return false;
  auto data = std::make_unique<crypt_data>();
  const char* probe = ::crypt_rn("probe", hash.c_str(), data.get(), sizeof *data);
  return probe != nullptr && probe[0] != '*' && std::strlen(probe) == hash.size();
}

// Reads at most maxBytes of the regular file open as fd; throws naming path when it is anything else or larger.
std::string readBounded(int fd, const std::string& path) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw cppd::systemError("stat password file", path, errno);
  if (!S_ISREG(info.st_mode)) {
    throw cppd::Error(cppd::ErrorKind::config,
                      fmt::format("password file {}: not a regular file; give a file of 'user:crypt-hash' lines", path));
  }
  std::string text;
  const int error = cppd::posix::readAll(fd, text, PasswordFile::maxBytes);
  if (error == EFBIG) {
    throw cppd::Error(cppd::ErrorKind::config,
                      fmt::format("password file {}: larger than the limit of {} bytes", path, PasswordFile::maxBytes));
  }
  if (error != 0) throw cppd::systemError("read password file", path, error);
  return text;
}

}  // namespace

PasswordFile PasswordFile::load(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the file is refused right after as not regular.
  const cppd::posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) throw cppd::systemError("open password file", path, errno);
  return parse(readBounded(fd.get(), path), path);
}

PasswordFile PasswordFile::parse(std::string_view text, const std::string& path) {
  PasswordFile file;
  std::size_t number = 0;
  std::chrono::steady_clock::duration dummyCost{};
  while (!text.empty()) {
    ++number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == line.size()) {
      bad(path, number, "expected 'user:crypt-hash' (make the hash with `openssl passwd -6`)");
    }
    const std::string user(line.substr(0, colon));
    const std::string hash(line.substr(colon + 1));
    if (user.find_first_of(" \t\r") != std::string::npos) bad(path, number, fmt::format("user name '{}' has blanks", user));
    const auto started = std::chrono::steady_clock::now();
    if (!usableHash(hash)) {
      bad(path, number, fmt::format("the hash of user '{}' is not a crypt(3) hash libxcrypt supports", user));
    }
    const auto cost = std::chrono::steady_clock::now() - started;
    if (!file.users_.emplace(user, hash).second) bad(path, number, fmt::format("user '{}' is listed twice", user));
    // Unknown users are checked against the costliest hash (usableHash just computed one with each): with a
    // cheap one, a failure that takes long would tell that the user exists.
    if (file.dummy_.empty() || cost > dummyCost) {
      file.dummy_ = hash;
      dummyCost = cost;
    }
  }
  return file;
}

bool PasswordFile::verify(const std::string& user, const std::string& password) const {
  const auto found = users_.find(user);
  // An unknown user costs one hash too, with a real user's method and cost, so that the time of a failed login
  // does not tell whether the user exists.
  const std::string& hash = found != users_.end() ? found->second : dummy_;
  if (hash.empty()) return false;  // no users at all: nothing to reveal
  auto data = std::make_unique<crypt_data>();  // about 32 KiB: too big for a thread's stack frame
  const char* hashed = ::crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof *data);
  return found != users_.end() && hashed != nullptr && constantTimeEqual(hashed, hash);
}

}  // namespace ftp
