#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <cppd/directory_jail.hpp>

#include "password_file.hpp"

namespace ftp {

/// What every session of one server shares, fixed at start-up. Immutable; loop thread only.
struct FtpConfig {
  std::shared_ptr<const cppd::DirectoryJail> jail;  // --root, held open (see jail.hpp)
  PasswordFile users;
  bool anonymous = true;                          // anonymous (read-only) logins allowed
  std::uint16_t passiveLow = 0;                   // --passive-ports range; 0 means an ephemeral port
  std::uint16_t passiveHigh = 0;
  std::size_t maxClients = 0;                     // 0: no limit
  std::chrono::milliseconds idleTimeout{300000};  // 0: none
};

}  // namespace ftp
