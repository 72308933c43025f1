#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <cppd/directory_jail.hpp>

#include "password_file.hpp"

namespace ftp {

/// What every session of one server shares, fixed at start-up. Immutable; loop thread only (the password file
/// is also read by password checks on the thread pool, which is safe: it never changes).
struct FtpConfig {
  std::shared_ptr<const cppd::DirectoryJail> jail;  // --root, held open (see jail.hpp)
  PasswordFile users;
  bool anonymous = true;                          // anonymous (read-only) logins allowed
  std::uint16_t passiveLow = 0;                   // --passive-ports range; 0 means an ephemeral port
  std::uint16_t passiveHigh = 0;
  std::size_t maxClients = 0;                     // 0: no limit
  std::size_t maxClientsPerAddress = 0;           // --max-clients-per-address; 0: no limit
  std::chrono::milliseconds idleTimeout{300000};  // 0: none
  std::chrono::milliseconds loginTimeout{0};      // --login-timeout: connect to login; 0: none
  std::chrono::milliseconds dataTimeout{0};       // --data-timeout: a data connection without progress; 0: none
  std::chrono::milliseconds loginFailDelay{0};    // --login-fail-delay: before answering a wrong password
  unsigned maxLoginFailures = 0;                  // --max-login-failures per address; 0: no limit
  std::chrono::milliseconds loginBlockTime{0};    // --login-block-time: how long an address is refused
};

}  // namespace ftp
