#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

#include "options/server_options.hpp"

using cppd::runner::parseServerOptions;
using Args = std::vector<std::string>;

namespace {

std::string here(const std::string& name) { return (std::filesystem::current_path() / name).string(); }

}  // namespace

TEST_CASE("The control socket option: a daemon's default is named after its pidfile, -n and --chroot have none",
          "[control]") {
  CHECK(parseServerOptions(Args{"x"}).effectiveControl() == here("cppd.ctl"));
  CHECK(parseServerOptions(Args{"--pidfile=/run/web.pid", "x"}).effectiveControl() == "/run/web.ctl");
  CHECK(parseServerOptions(Args{"--pidfile=/run/web", "x"}).effectiveControl() == "/run/web.ctl");
  CHECK(parseServerOptions(Args{"--pidfile=", "x"}).effectiveControl() == here("cppd.ctl"));
  CHECK(parseServerOptions(Args{"-n", "x"}).effectiveControl().empty());
  CHECK(parseServerOptions(Args{"--chroot=/srv", "x"}).effectiveControl().empty());
}

TEST_CASE("The control socket option: a given path is made absolute, empty disables it, too long is refused",
          "[control]") {
  CHECK(parseServerOptions(Args{"-n", "--control", "c.sock", "x"}).effectiveControl() == here("c.sock"));
  CHECK(parseServerOptions(Args{"--control=", "x"}).effectiveControl().empty());
  CHECK_THROWS_AS(parseServerOptions(Args{"--control", "/" + std::string(107, 'x'), "x"}), cppd::UsageError);
  CHECK_NOTHROW(parseServerOptions(Args{"--control", "/" + std::string(106, 'x'), "x"}));
}
