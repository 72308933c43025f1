#include "process/privileges.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

#include "unit/support/fake_process.hpp"
#include "unit/support/runner_test_support.hpp"

using cppd::runner::dropPrivileges;
using cppd::runner::PrivilegeTarget;
using cppd::runner::resolveGroup;
using cppd::runner::resolveUser;
using cppd::test::FakeProcess;
using cppd::test::LogCapture;
using Calls = std::vector<std::string>;

TEST_CASE("Users resolve by name or number, with their primary group", "[runner]") {
  const auto root = resolveUser("root");
  CHECK(root.uid == 0);
  CHECK(root.name == "root");
  CHECK(root.primaryGid == gid_t{0});
  const auto nobody = resolveUser("65534");
  CHECK(nobody.uid == 65534);
  CHECK(nobody.name == "nobody");
  const auto unnamed = resolveUser("4000000");
  CHECK(unnamed.uid == 4000000);
  CHECK_FALSE(unnamed.primaryGid);
  CHECK_THROWS_MATCHES(resolveUser("no-such-user-cppd"), cppd::UsageError,
                       Catch::Message("unknown user 'no-such-user-cppd' (--uid): no such user in the passwd database"));
}

TEST_CASE("Groups resolve by name or number", "[runner]") {
  CHECK(resolveGroup("root") == 0);
  CHECK(resolveGroup("123") == 123);
  CHECK_THROWS_AS(resolveGroup("no-such-group-cppd"), cppd::UsageError);
}

TEST_CASE("Dropping privileges calls setgid, initgroups, setuid in that order and verifies", "[runner]") {
  FakeProcess os;
  LogCapture log;
  dropPrivileges(PrivilegeTarget{65534, 65534, "nobody", false}, os);
  CHECK(os.calls == Calls{"setgid 65534", "initgroups nobody 65534", "setuid 65534", "setuid 0"});
  CHECK(log.contains("set uid/gid 65534/65534"));
}

TEST_CASE("A user with no passwd name gets the gid as its only group", "[runner]") {
  FakeProcess os;
  LogCapture log;
  dropPrivileges(PrivilegeTarget{4000, 4000, "", false}, os);
  CHECK(os.calls == Calls{"setgid 4000", "setgroups 1 4000", "setuid 4000", "setuid 0"});
}

TEST_CASE("Dropping with --euid changes only the effective ids", "[runner]") {
  FakeProcess os;
  LogCapture log;
  dropPrivileges(PrivilegeTarget{65534, 65534, "nobody", true}, os);
  CHECK(os.calls == Calls{"setegid 65534", "seteuid 65534"});
  CHECK(log.contains("set euid/egid 65534/65534"));
}

TEST_CASE("Dropping to the current uid warns once and carries on", "[runner]") {
  FakeProcess os;
  os.ruid = os.euid = os.suid = 1000;
  LogCapture log;
  dropPrivileges(PrivilegeTarget{1000, std::nullopt, "", false}, os);
  CHECK(os.calls.empty());
  CHECK(log.lines().size() == 2);
  CHECK(log.lines()[0] ==
        "tried to drop privileges and setuid 1000 but uid is already 1000; should we be root? Continuing.");
}

TEST_CASE("A drop that did not take is refused", "[runner]") {
  FakeProcess os;
  os.setuidWorks = false;
  LogCapture log;
  CHECK_THROWS_MATCHES(dropPrivileges(PrivilegeTarget{65534, 65534, "nobody", false}, os), cppd::Error,
                       Catch::Predicate<cppd::Error>([](const cppd::Error& e) {
                         return e.kind() == cppd::ErrorKind::permission &&
                                std::string(e.what()).find("refusing to run") != std::string::npos;
                       }));
}

TEST_CASE("A drop after which setuid(0) still works is refused", "[runner]") {
  FakeProcess os;
  os.rootAfterDrop = true;
  LogCapture log;
  CHECK_THROWS_WITH(dropPrivileges(PrivilegeTarget{65534, 65534, "nobody", false}, os),
                    Catch::Contains("setuid(0) still succeeds"));
}

TEST_CASE("Nothing happens without a uid or a gid", "[runner]") {
  FakeProcess os;
  dropPrivileges(PrivilegeTarget{}, os);
  CHECK(os.calls.empty());
}

TEST_CASE("A numeric id that would wrap or mean 'unchanged' is refused, naming the option", "[runner]") {
  // 4294967296 once became uid 0 (root); 4294967295 is (uid_t)-1, which setresuid reads as "leave unchanged".
  for (const char* id : {"4294967295", "4294967296", "99999999999"}) {
    INFO(id);
    CHECK_THROWS_WITH(cppd::runner::resolveUser(id), Catch::Contains("--uid '" + std::string(id) + "' is out of range"));
    CHECK_THROWS_WITH(cppd::runner::resolveGroup(id), Catch::Contains("--gid '" + std::string(id) + "' is out of range"));
  }
  CHECK(cppd::runner::resolveUser("4294967294").uid == 4294967294u);
}
