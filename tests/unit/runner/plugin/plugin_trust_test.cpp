#include "plugin/plugin_trust.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

using cppd::runner::directoryTrustProblem;
using cppd::runner::fileTrustProblem;
using cppd::runner::TrustPolicy;

namespace {

struct stat statWith(mode_t mode, uid_t owner) {
  struct stat st {};
  st.st_mode = mode;
  st.st_uid = owner;
  return st;
}

TrustPolicy user(uid_t uid) { return TrustPolicy{uid, std::nullopt}; }

}  // namespace

TEST_CASE("A plugin file writable only by its owner is trusted", "[plugin][trust]") {
  CHECK_FALSE(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0755, 1000), user(1000)));
  CHECK_FALSE(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0644, 1000), user(1000)));
  CHECK_FALSE(directoryTrustProblem("/p", statWith(S_IFDIR | 0755, 1000), user(1000)));
}

TEST_CASE("A group- or world-writable plugin file or directory is refused, saying why", "[plugin][trust]") {
  CHECK(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0775, 1000), user(1000)) ==
        "it is writable by its group (mode 0775); fix with chmod g-w /p/a.so");
  CHECK(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0646, 1000), user(1000)) ==
        "it is writable by everyone (mode 0646); fix with chmod o-w /p/a.so");
  CHECK(directoryTrustProblem("/tmp", statWith(S_IFDIR | 01777, 0), user(1000)) ==
        "it is writable by everyone (mode 1777); fix with chmod o-w /tmp");
}

TEST_CASE("Running as root, plugins must belong to root or the invoking sudo user", "[plugin][trust]") {
  TrustPolicy root{0, std::nullopt};
  TrustPolicy sudo{0, 1000};
  CHECK_FALSE(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0755, 0), root));
  CHECK(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0755, 1000), root) ==
        "cppd runs as root and it is owned by uid 1000, not by root");
  CHECK_FALSE(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0755, 1000), sudo));
  CHECK(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0755, 1001), sudo) ==
        "cppd runs as root and it is owned by uid 1001, not by root or the invoking user (uid 1000)");
  CHECK(directoryTrustProblem("/p", statWith(S_IFDIR | 0755, 1001), root) ==
        "cppd runs as root and it is owned by uid 1001, not by root");
}

TEST_CASE("Not running as root, plugins must belong to root or the user cppd runs as", "[plugin][trust]") {
  CHECK_FALSE(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0755, 0), user(1000)));
  CHECK_FALSE(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0755, 1000), user(1000)));
  // Another user could rewrite their own file (or chmod it) at will: their code would run as uid 1000.
  CHECK(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0755, 1234), user(1000)) ==
        "it is owned by uid 1234, not by root or the user cppd runs as (uid 1000)");
  CHECK(directoryTrustProblem("/p", statWith(S_IFDIR | 0755, 1234), user(1000)) ==
        "it is owned by uid 1234, not by root or the user cppd runs as (uid 1000)");
  // SUDO_UID names who ran sudo; it means nothing to a process that is not root.
  CHECK(fileTrustProblem("/p/a.so", statWith(S_IFREG | 0755, 1234), TrustPolicy{1000, 1234}) ==
        "it is owned by uid 1234, not by root or the user cppd runs as (uid 1000)");
}

TEST_CASE("An ancestor of a plugin directory may be writable by others only when it is sticky", "[plugin][trust]") {
  using cppd::runner::ancestorTrustProblem;
  const TrustPolicy root{0, std::nullopt};
  CHECK_FALSE(ancestorTrustProblem("/srv", statWith(S_IFDIR | 0755, 0), root));
  CHECK_FALSE(ancestorTrustProblem("/tmp", statWith(S_IFDIR | 01777, 0), root));
  CHECK(ancestorTrustProblem("/srv/p", statWith(S_IFDIR | 0777, 0), root) ==
        "its ancestor directory /srv/p is writable by everyone (mode 0777) and has no sticky bit, so another user "
        "could swap the directories below it; fix with chmod o-w /srv/p (or chmod +t /srv/p)");
  CHECK(ancestorTrustProblem("/srv/g", statWith(S_IFDIR | 0775, 0), root) ==
        "its ancestor directory /srv/g is writable by its group (mode 0775) and has no sticky bit, so another user "
        "could swap the directories below it; fix with chmod g-w /srv/g (or chmod +t /srv/g)");
  CHECK(ancestorTrustProblem("/home/eve", statWith(S_IFDIR | 0755, 1001), root) ==
        "its ancestor directory /home/eve: cppd runs as root and it is owned by uid 1001, not by root");
  // eve may rename what is in her home directory, so swap the plugin directory of anyone else who runs cppd.
  CHECK(ancestorTrustProblem("/home/eve", statWith(S_IFDIR | 0755, 1001), TrustPolicy{1000, std::nullopt}) ==
        "its ancestor directory /home/eve: it is owned by uid 1001, not by root or the user cppd runs as (uid 1000)");
  CHECK_FALSE(ancestorTrustProblem("/home/ann", statWith(S_IFDIR | 0755, 1000), TrustPolicy{1000, std::nullopt}));
}
