#include <catch2/catch.hpp>
#include <string>

#include "plugin/abi_stamp.hpp"

using cppd::runner::compareAbiStamps;
using cppd::runner::hostAbiStamp;

TEST_CASE("A stamp equal to the host's has no mismatch", "[plugin][abi]") {
  CHECK(compareAbiStamps(hostAbiStamp(), hostAbiStamp()).empty());
  CHECK(cppd::runner::abiStampProblem(hostAbiStamp()).empty());
}

TEST_CASE("Each stamp mismatch is its own message naming both values", "[plugin][abi]") {
  cppd_abi_stamp host = hostAbiStamp();
  host.sdkAbiVersion = 2;
  host.fmtVersion = 90100;
  host.glibcxxCxx11Abi = 1;
  cppd_abi_stamp plugin = host;
  plugin.sdkAbiVersion = 1;
  plugin.fmtVersion = 100000;
  plugin.glibcxxCxx11Abi = 0;
  plugin.pointerSize = 4;

  auto problems = compareAbiStamps(plugin, host);
  REQUIRE(problems.size() == 4);
  CHECK(problems[0] == "built for cppd SDK ABI 1, this cppd provides 2");
  CHECK(problems[1] == "built with _GLIBCXX_USE_CXX11_ABI=0, this cppd with _GLIBCXX_USE_CXX11_ABI=1");
  CHECK(problems[2] == "built with fmt 10.0.0, this cppd with fmt 9.1.0");
  CHECK(problems[3] == "built for 32-bit pointers, this cppd uses 64-bit pointers");
}

TEST_CASE("Only what crosses the boundary is compared: another fmt minor release is fine", "[plugin][abi]") {
  cppd_abi_stamp host = hostAbiStamp();
  host.fmtVersion = 90100;
  cppd_abi_stamp plugin = host;
  plugin.fmtVersion = 90000;
  CHECK(compareAbiStamps(plugin, host).empty());
}

TEST_CASE("A stamp with a foreign magic number or a short record is not compared further", "[plugin][abi]") {
  cppd_abi_stamp plugin = hostAbiStamp();
  plugin.magic = 0x12345678;
  plugin.sdkAbiVersion = 99;
  auto problems = compareAbiStamps(plugin, hostAbiStamp());
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "ABI stamp has magic number 0x12345678, expected 0x44505043 (not a cppd plugin stamp)");

  plugin = hostAbiStamp();
  plugin.size = 16;
  problems = compareAbiStamps(plugin, hostAbiStamp());
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].rfind("ABI stamp is 16 bytes, this cppd expects at least", 0) == 0);
}
