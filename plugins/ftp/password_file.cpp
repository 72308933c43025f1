#include "password_file.hpp"

#include <crypt.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include <cppd/error.hpp>

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

}  // namespace

PasswordFile PasswordFile::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw cppd::systemError("open password file", path, errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw cppd::systemError("read password file", path, errno);
  return parse(text.str(), path);
}

PasswordFile PasswordFile::parse(std::string_view text, const std::string& path) {
  PasswordFile file;
  std::size_t number = 0;
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
    if (!usableHash(hash)) {
      bad(path, number, fmt::format("the hash of user '{}' is not a crypt(3) hash libxcrypt supports", user));
    }
    if (!file.users_.emplace(user, hash).second) bad(path, number, fmt::format("user '{}' is listed twice", user));
  }
  return file;
}

bool PasswordFile::verify(const std::string& user, const std::string& password) const {
  const auto found = users_.find(user);
  if (found == users_.end()) return false;
  auto data = std::make_unique<crypt_data>();  // about 32 KiB: too big for a loop thread's stack frame
  const char* hashed = ::crypt_rn(password.c_str(), found->second.c_str(), data.get(), sizeof *data);
  return hashed != nullptr && constantTimeEqual(hashed, found->second);
}

}  // namespace ftp
