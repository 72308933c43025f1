#include "process/root_policy.hpp"

#include <string>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

#include "unit/support/fake_process.hpp"

using cppd::runner::PrivilegeTarget;
using cppd::runner::refuseRootFileServers;
using cppd::runner::ServerOptions;

namespace {

int refusalCode(const ServerOptions& options, const PrivilegeTarget& target, uid_t euid,
                const std::vector<std::string>& fileServers, std::string* message = nullptr) {
  cppd::test::FakeProcess os;
  os.euid = euid;
  try {
    refuseRootFileServers(options, target, fileServers, os);
  } catch (const cppd::Error& e) {
    if (message) *message = e.what();
    return cppd::exitCodeFor(e.kind());
  }
  return 0;
}

}  // namespace

TEST_CASE("A file-serving plugin started as root without --uid is refused with 77, naming both ways out", "[runner]") {
  std::string message;
  CHECK(refusalCode(ServerOptions{}, PrivilegeTarget{}, 0, {"ftp"}, &message) == 77);
  CHECK(message.find("refusing to run ftp as root") != std::string::npos);
  CHECK(message.find("-u USER") != std::string::npos);
  CHECK(message.find("--allow-root") != std::string::npos);
}

TEST_CASE("A file-serving plugin may run as root with --allow-root or any --uid, and as any other user", "[runner]") {
  ServerOptions allowed;
  allowed.allowRoot = true;
  CHECK(refusalCode(allowed, PrivilegeTarget{}, 0, {"web"}) == 0);
  PrivilegeTarget nobody;
  nobody.uid = 65534;
  CHECK(refusalCode(ServerOptions{}, nobody, 0, {"web"}) == 0);
  PrivilegeTarget root;
  root.uid = 0;  // -u root: said explicitly
  CHECK(refusalCode(ServerOptions{}, root, 0, {"web"}) == 0);
  CHECK(refusalCode(ServerOptions{}, PrivilegeTarget{}, 1000, {"web"}) == 0);
}

TEST_CASE("Plugins that serve no files run as root without --allow-root", "[runner]") {
  CHECK(refusalCode(ServerOptions{}, PrivilegeTarget{}, 0, {}) == 0);
}
