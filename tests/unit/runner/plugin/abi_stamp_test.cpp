#include <catch2/catch.hpp>
#include <cstring>
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
  host.boostVersion = 107400;
  host.fmtVersion = 90100;
  std::strcpy(host.libuv, "1.44.2");
  std::strcpy(host.compiler, "gcc 12.2.0");
  cppd_abi_stamp plugin = host;
  plugin.sdkAbiVersion = 1;
  plugin.boostVersion = 108100;
  plugin.fmtVersion = 100000;
  std::strcpy(plugin.libuv, "1.48.0");
  std::strcpy(plugin.compiler, "clang 16.0.0");
  plugin.glibcxxCxx11Abi = 0;
  host.glibcxxCxx11Abi = 1;
  plugin.pointerSize = 4;

  auto problems = compareAbiStamps(plugin, host);
  REQUIRE(problems.size() == 7);
  CHECK(problems[0] == "built for cppd SDK ABI 1, this cppd provides 2");
  CHECK(problems[1] == "built with compiler clang 16.0.0, this cppd with gcc 12.2.0");
  CHECK(problems[2] == "built with _GLIBCXX_USE_CXX11_ABI=0, this cppd with _GLIBCXX_USE_CXX11_ABI=1");
  CHECK(problems[3] == "built with Boost 1.81.0, this cppd with Boost 1.74.0");
  CHECK(problems[4] == "built against libuv 1.48.0, this cppd uses libuv 1.44.2");
  CHECK(problems[5] == "built with fmt 10.0.0, this cppd with fmt 9.1.0");
  CHECK(problems[6] == "built for 32-bit pointers, this cppd uses 64-bit pointers");
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

TEST_CASE("A stamp's text fields are read only up to their size", "[plugin][abi]") {
  cppd_abi_stamp plugin = hostAbiStamp();
  std::memset(plugin.libuv, 'x', sizeof plugin.libuv);  // no terminator
  auto problems = compareAbiStamps(plugin, hostAbiStamp());
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find(std::string(sizeof plugin.libuv, 'x') + ",") != std::string::npos);
}
