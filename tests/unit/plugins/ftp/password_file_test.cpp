#include "password_file.hpp"

#include <crypt.h>

#include <string>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

namespace {

// A sha512crypt hash of password made with libxcrypt itself, as `openssl passwd -6` would.
std::string hashOf(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(::crypt_gensalt_rn("$6$", 0, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  return ::crypt_r(password.c_str(), salt, &data);
}

}  // namespace

TEST_CASE("A password file verifies users against their crypt hashes", "[ftp]") {
  const std::string text = "# users\n\nalice:" + hashOf("wonderland") + "\r\nbob:" + hashOf("builder") + "\n";
  const ftp::PasswordFile file = ftp::PasswordFile::parse(text, "users.passwd");
  CHECK(file.size() == 2);
  CHECK(file.verify("alice", "wonderland"));
  CHECK_FALSE(file.verify("alice", "builder"));
  CHECK(file.verify("bob", "builder"));
  CHECK_FALSE(file.verify("carol", "wonderland"));
  CHECK_FALSE(file.verify("alice", ""));
}

TEST_CASE("A known openssl passwd -6 hash verifies", "[ftp]") {
  // openssl passwd -6 -salt saltsalt secret
  const ftp::PasswordFile file = ftp::PasswordFile::parse(
      "u:$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1\n", "f");
  CHECK(file.verify("u", "secret"));
  CHECK_FALSE(file.verify("u", "Secret"));
}

TEST_CASE("A malformed password file line is a configuration error naming the file and the line", "[ftp]") {
  const std::string good = "alice:" + hashOf("x") + "\n";
  CHECK_THROWS_WITH(ftp::PasswordFile::parse(good + "justaname\n", "/etc/ftp.passwd"),
                    Catch::StartsWith("password file /etc/ftp.passwd line 2: expected 'user:crypt-hash'"));
  CHECK_THROWS_WITH(ftp::PasswordFile::parse("\n\nbob:plaintext\n", "p"),
                    Catch::StartsWith("password file p line 3: the hash of user 'bob' is not a crypt(3) hash"));
  CHECK_THROWS_WITH(ftp::PasswordFile::parse(good + good, "p"),
                    Catch::StartsWith("password file p line 2: user 'alice' is listed twice"));
  CHECK_THROWS_WITH(ftp::PasswordFile::parse(":" + hashOf("x"), "p"), Catch::StartsWith("password file p line 1:"));
  try {
    ftp::PasswordFile::parse("x\n", "p");
  } catch (const cppd::Error& e) {
    CHECK(e.kind() == cppd::ErrorKind::config);
  }
}

TEST_CASE("A missing password file is an error naming it", "[ftp]") {
  CHECK_THROWS_WITH(ftp::PasswordFile::load("/nonexistent/ftp.passwd"),
                    Catch::Contains("/nonexistent/ftp.passwd: No such file or directory"));
}

TEST_CASE("A password file that is not a regular file is refused by name before anything is read", "[ftp]") {
  CHECK_THROWS_WITH(ftp::PasswordFile::load("/dev/zero"),
                    Catch::Contains("password file /dev/zero: not a regular file"));
  CHECK_THROWS_WITH(ftp::PasswordFile::load("/tmp"), Catch::Contains("password file /tmp: not a regular file"));
}

TEST_CASE("An unknown user fails the password check, and a file without users accepts no one", "[ftp]") {
  const auto file = ftp::PasswordFile::parse("alice:" + hashOf("wonderland") + "\n", "test");
  CHECK_FALSE(file.verify("mallory", "wonderland"));
  CHECK_FALSE(file.verify("mallory", ""));
  CHECK(file.verify("alice", "wonderland"));
  CHECK_FALSE(ftp::PasswordFile().verify("alice", "wonderland"));
}
