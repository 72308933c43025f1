// The web plugin's request-target decoding: the first half of the jail (the second is cppd::DirectoryJail).
#include "request_path.hpp"

#include <catch2/catch.hpp>

using web::parseRequestPath;
using web::PathStatus;

TEST_CASE("A plain path is decoded into a relative name without leading or trailing slashes", "[web]") {
  const auto path = parseRequestPath("/docs/a%20b.html?x=1&y=%2F");
  CHECK(path.status == PathStatus::ok);
  CHECK(path.relative == "docs/a b.html");
  CHECK(path.rawPath == "/docs/a%20b.html");
  CHECK(path.query == "?x=1&y=%2F");
  CHECK_FALSE(path.directory);
}

TEST_CASE("The root and directories keep their trailing slash as a flag; dot and empty segments vanish", "[web]") {
  CHECK(parseRequestPath("/").relative.empty());
  CHECK(parseRequestPath("/").directory);
  const auto path = parseRequestPath("//docs/./sub//");
  CHECK(path.status == PathStatus::ok);
  CHECK(path.relative == "docs/sub");
  CHECK(path.directory);
  CHECK(parseRequestPath("/a/%2e/b").relative == "a/b");
}

TEST_CASE("Dot-dot segments are forbidden whether plain or percent-encoded", "[web]") {
  for (const char* target : {"/..", "/../etc/passwd", "/a/../b", "/%2e%2e/x", "/%2E%2e/x", "/.%2e/x", "/a/%2e%2e"}) {
    INFO(target);
    CHECK(parseRequestPath(target).status == PathStatus::forbidden);
  }
  CHECK(parseRequestPath("/..a/b..").status == PathStatus::ok);  // only the whole segment ".." climbs
}

TEST_CASE("Encoded slashes and NUL bytes name nothing: 404", "[web]") {
  for (const char* target : {"/a%2fb", "/..%2fetc", "/%2e%2e%2fetc%2fpasswd", "/a%2F", "/x%00.html", "/%00"}) {
    INFO(target);
    CHECK(parseRequestPath(target).status == PathStatus::notFound);
  }
}

TEST_CASE("Malformed escapes and targets that are not paths are bad requests", "[web]") {
  for (const char* target : {"/%", "/%2", "/%zz", "/a%g1", "*", "", "relative/path", "http://"}) {
    INFO(target);
    CHECK(parseRequestPath(target).status == PathStatus::badRequest);
  }
}

TEST_CASE("An absolute-form target is reduced to its path and query", "[web]") {
  const auto path = parseRequestPath("http://example.com:8080/docs/x.txt?q");
  CHECK(path.status == PathStatus::ok);
  CHECK(path.relative == "docs/x.txt");
  CHECK(path.query == "?q");
  CHECK(parseRequestPath("http://example.com").directory);
  CHECK(parseRequestPath("http://example.com/%2e%2e/x").status == PathStatus::forbidden);
}

TEST_CASE("A redirect's Location holds no byte of the target that a URI may not hold", "[web]") {
  CHECK(web::redirectLocation(web::parseRequestPath("/docs?a=b%20c")) == "/docs/?a=b%20c");
  CHECK(web::redirectLocation(web::parseRequestPath("//docs")) == "/docs/");
  CHECK(web::redirectLocation(web::parseRequestPath("/d\xc3\xa9j\xc3\xa0?x=\xc2\x85y")) ==
        "/d%C3%A9j%C3%A0/?x=%C2%85y");
  CHECK(web::redirectLocation(web::parseRequestPath("/a{b}?<\"|\\^`>")) == "/a%7Bb%7D/?%3C%22%7C%5C%5E%60%3E");
}
