#pragma once

#include <map>
#include <string>
#include <string_view>

namespace ftp {

/// The users of --password-file: one "user:crypt-hash" per line ("alice:$6$salt$..."), as written by
/// `openssl passwd -6` or mkpasswd; empty lines and lines starting with '#' are skipped. Passwords are checked
/// with libxcrypt's crypt_rn(), so every method libxcrypt knows (yescrypt, sha512crypt, bcrypt, ...) works.
/// Immutable after loading; safe to share.
class PasswordFile {
 public:
  /// The largest password file read: a list of users, not a database.
  static constexpr std::size_t maxBytes = 1 << 20;

  PasswordFile() = default;

  /// Reads path, which must be a regular file (checked on the open descriptor) of at most maxBytes; throws
  /// cppd::Error (config) naming the file otherwise. Throws cppd::Error (config) naming the file and the line for a malformed line ("password file
  /// /etc/ftp.passwd line 3: expected 'user:crypt-hash'"), an unknown hash method or a duplicate user, and
  /// cppd::Error naming the errno text when the file cannot be read.
  static PasswordFile load(const std::string& path);

  /// Parses text as the content of a file named path (for load and for tests).
  static PasswordFile parse(std::string_view text, const std::string& path);

  /// True when user is listed and password matches its hash. Constant-time comparison of the hashes. An
  /// unknown user is checked against a listed user's hash (and fails), so both take as long. Thread-safe.
  bool verify(const std::string& user, const std::string& password) const;

  bool hasUser(const std::string& user) const { return users_.count(user) != 0; }
  std::size_t size() const noexcept { return users_.size(); }

 private:
  std::map<std::string, std::string> users_;
  std::string dummy_;  // the costliest user hash, checked for unknown users
};

}  // namespace ftp
