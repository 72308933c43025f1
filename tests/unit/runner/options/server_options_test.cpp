#include "options/server_options.hpp"

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

using cppd::runner::parseServerOptions;
using cppd::runner::ServerOptions;
using Args = std::vector<std::string>;

namespace {

std::string cwd() { return std::filesystem::current_path().string(); }

std::string usageErrorOf(const Args& args) {
  try {
    parseServerOptions(args);
  } catch (const cppd::UsageError& e) {
    CHECK(cppd::exitCodeFor(e.kind()) == 64);
    return e.what();
  }
  FAIL("no UsageError for the arguments");
  return {};
}

}  // namespace

TEST_CASE("Server options default to twistd's, with cppd names", "[runner]") {
  const ServerOptions o = parseServerOptions(Args{"fastpoetry"});
  CHECK_FALSE(o.nodaemon);
  CHECK(o.pidfile == cwd() + "/cppd.pid");
  CHECK(o.effectiveLogfile() == cwd() + "/cppd.log");
  CHECK(o.effectiveUmask() == mode_t{0077});
  CHECK(o.prefix == "cppd");
  CHECK(o.rundir == cwd());
  CHECK(o.logfileMaxSize == 1000000);
  CHECK(o.logfileKeep == 10u);
  CHECK(o.shutdownTimeout == 30.0);
  CHECK_FALSE(o.uid);
  CHECK(o.launchDir == cwd());
  CHECK(o.command == "fastpoetry");
}

TEST_CASE("Nodaemon logs to stdout and leaves the umask alone", "[runner]") {
  const ServerOptions o = parseServerOptions(Args{"-n", "x"});
  CHECK(o.nodaemon);
  CHECK(o.effectiveLogfile() == "-");
  CHECK_FALSE(o.effectiveUmask());
}

TEST_CASE("Parsing stops at the plugin name and hands every later word to the plugin", "[runner]") {
  const ServerOptions o = parseServerOptions(Args{"-n", "fastpoetry", "-n", "--port", "1", "--bogus"});
  CHECK(o.nodaemon);
  CHECK(o.command == "fastpoetry");
  CHECK(o.commandArgs == Args{"-n", "--port", "1", "--bogus"});
  const ServerOptions dashed = parseServerOptions(Args{"--", "-weird", "a"});
  CHECK(dashed.command == "-weird");
  CHECK(dashed.commandArgs == Args{"a"});
}

TEST_CASE("Every value option takes '--opt value' and '--opt=value'", "[runner]") {
  for (const bool joined : {false, true}) {
    Args args;
    auto add = [&](const std::string& name, const std::string& value) {
      if (joined) args.push_back(name + "=" + value);
      else args.insert(args.end(), {name, value});
    };
    add("--logfile", "/tmp/x.log");
    add("--prefix", "svc");
    add("--pidfile", "/tmp/x.pid");
    add("--rundir", "/tmp");
    add("--uid", "0");
    add("--gid", "0");
    add("--umask", "022");
    add("--logfile-max-size", "2048");
    add("--logfile-keep", "5");
    add("--shutdown-timeout", "2.5");
    add("--plugin-path", "/opt/a");
    add("--plugin-path", "rel");
    args.insert(args.end(), {"--syslog", "--euid", "--nodaemon", "--list-plugins", "--verbose", "--version",
                             "--help"});
    const ServerOptions o = parseServerOptions(args);
    CHECK(o.logfile == "/tmp/x.log");
    CHECK(o.prefix == "svc");
    CHECK(o.pidfile == "/tmp/x.pid");
    CHECK(o.rundir == "/tmp");
    CHECK(o.uid == uid_t{0});
    CHECK(o.gid == gid_t{0});
    CHECK(o.umask == mode_t{022});
    CHECK(o.logfileMaxSize == 2048);
    CHECK(o.logfileKeep == 5u);
    CHECK(o.shutdownTimeout == 2.5);
    CHECK(o.pluginPath == Args{"/opt/a", cwd() + "/rel"});
    CHECK((o.syslog && o.euid && o.nodaemon && o.listPlugins && o.verbose && o.version && o.help));
    CHECK(o.command.empty());
  }
}

TEST_CASE("Short options combine and take attached or separate values", "[runner]") {
  const ServerOptions o = parseServerOptions(Args{"-nv", "-l/tmp/a.log", "-d", "/", "-u", "root", "-g0", "p"});
  CHECK(o.nodaemon);
  CHECK(o.verbose);
  CHECK(o.logfile == "/tmp/a.log");
  CHECK(o.rundir == "/");
  CHECK(o.uid == uid_t{0});
  CHECK(o.uidName == "root");
  CHECK(o.gid == gid_t{0});
  CHECK(o.command == "p");
  CHECK(parseServerOptions(Args{"-h"}).help);
}

TEST_CASE("Long options may be shortened to a unique prefix", "[runner]") {
  CHECK(parseServerOptions(Args{"--nodaem"}).nodaemon);
  CHECK(parseServerOptions(Args{"--pidf=/tmp/p"}).pidfile == "/tmp/p");
  CHECK(usageErrorOf(Args{"--logfile-"}).find("not a unique prefix") != std::string::npos);
}

TEST_CASE("The umask is octal: 123 and 0123 both mean 83", "[runner]") {
  CHECK(parseServerOptions(Args{"--umask", "123"}).umask == mode_t{83});
  CHECK(parseServerOptions(Args{"--umask=0123"}).umask == mode_t{83});
  CHECK(parseServerOptions(Args{"--umask=0070"}).umask == mode_t{56});
  CHECK(usageErrorOf(Args{"--umask", "99"}).find("'99'") != std::string::npos);
  CHECK(usageErrorOf(Args{"--umask", "abcdef"}).find("'abcdef'") != std::string::npos);
  CHECK(usageErrorOf(Args{"--umask", "1777"}).find("'1777'") != std::string::npos);
}

TEST_CASE("Bad options are usage errors (exit 64) that name the problem", "[runner]") {
  CHECK(usageErrorOf(Args{"--bogus"}) == "unknown option '--bogus'");
  CHECK(usageErrorOf(Args{"-x"}) == "unknown option '-x'");
  CHECK(usageErrorOf(Args{"--logfile"}).find("requires an argument") != std::string::npos);
  CHECK(usageErrorOf(Args{"--nodaemon=1"}).find("must not have an argument") != std::string::npos);
  CHECK(usageErrorOf(Args{"--logfile-max-size", "12q"}).find("'12q'") != std::string::npos);
  CHECK(usageErrorOf(Args{"--logfile-keep", "-1"}).find("'-1'") != std::string::npos);
  CHECK(usageErrorOf(Args{"--shutdown-timeout", "soon"}).find("'soon'") != std::string::npos);
}

TEST_CASE("Daemons cannot log to stdout", "[runner]") {
  CHECK(usageErrorOf(Args{"-l", "-", "x"}).find("Daemons cannot log to stdout") != std::string::npos);
  CHECK(parseServerOptions(Args{"-n", "-l", "-", "x"}).effectiveLogfile() == "-");
  CHECK(parseServerOptions(Args{"--syslog", "-l", "-", "x"}).syslog);
}

TEST_CASE("Unknown users and groups are usage errors naming them", "[runner]") {
  CHECK(usageErrorOf(Args{"-u", "no-such-user-cppd"}).find("'no-such-user-cppd'") != std::string::npos);
  CHECK(usageErrorOf(Args{"-g", "no-such-group-cppd"}).find("'no-such-group-cppd'") != std::string::npos);
}

TEST_CASE("With only --uid the gid is the user's primary group", "[runner]") {
  const ServerOptions o = parseServerOptions(Args{"-u", "nobody"});
  CHECK(o.uid == uid_t{65534});
  CHECK(o.gid == gid_t{65534});
  CHECK(o.gidName.empty());
}

TEST_CASE("Relative paths are resolved against the launch directory; an empty pidfile disables it", "[runner]") {
  const ServerOptions o = parseServerOptions(Args{"--logfile", "logs/a.log", "--pidfile", "run/a.pid", "-d", "w"});
  CHECK(o.logfile == cwd() + "/logs/a.log");
  CHECK(o.pidfile == cwd() + "/run/a.pid");
  CHECK(o.rundir == cwd() + "/w");
  CHECK(parseServerOptions(Args{"--pidfile="}).pidfile.empty());
  CHECK(parseServerOptions(Args{"--pidfile", ""}).pidfile.empty());
  const ServerOptions chrooted = parseServerOptions(Args{"--chroot", "jail"});
  CHECK(chrooted.chroot == cwd() + "/jail");
  CHECK(chrooted.rundir == "/");
}

TEST_CASE("The log size accepts k, M and G suffixes; 0 means never rotate", "[runner]") {
  CHECK(parseServerOptions(Args{"--logfile-max-size=512k"}).logfileMaxSize == 512 * 1024);
  CHECK(parseServerOptions(Args{"--logfile-max-size=10M"}).logfileMaxSize == 10 * 1024 * 1024);
  CHECK(parseServerOptions(Args{"--logfile-max-size=0"}).logfileMaxSize == 0);
}

TEST_CASE("The usage block follows twistd's layout with defaults", "[runner]") {
  const std::string usage = cppd::runner::serverOptionsUsage();
  CHECK(usage.rfind("Options:\n", 0) == 0);
  CHECK(usage.find("  -n, --nodaemon") != std::string::npos);
  CHECK(usage.find("--pidfile=") != std::string::npos);
  CHECK(usage.find("[default: cppd.pid]") != std::string::npos);
  CHECK(usage.find("[default: 1000000]") != std::string::npos);
  CHECK(usage.find("--shutdown-timeout=") != std::string::npos);
}

TEST_CASE("The log format (--log-format) is text (the default, twistd's) or json, and refuses anything else", "[runner]") {
  using cppd::runner::LogFormat;
  CHECK(parseServerOptions(Args{"web"}).logFormat == LogFormat::text);
  CHECK(parseServerOptions(Args{"--log-format", "json", "web"}).logFormat == LogFormat::json);
  CHECK(parseServerOptions(Args{"--log-format=text", "web"}).logFormat == LogFormat::text);
  const std::string error = usageErrorOf(Args{"--log-format", "xml", "web"});
  CHECK(error.find("'xml'") != std::string::npos);
  CHECK(error.find("text or json") != std::string::npos);
}

TEST_CASE("twistd's spellings reach cxxopts whole: -nl x, --logfile=-, -l -, an option's value that looks like one",
          "[runner]") {
  const ServerOptions grouped = parseServerOptions(Args{"-nl", "x.log", "--pidfile", "--", "web", "--port", "1"});
  CHECK(grouped.nodaemon);
  CHECK(grouped.logfile == cwd() + "/x.log");
  CHECK(grouped.pidfile == cwd() + "/--");  // a value, not the end of the options
  CHECK(grouped.command == "web");
  CHECK(grouped.commandArgs == Args{"--port", "1"});
  CHECK(parseServerOptions(Args{"-n", "--logfile=-"}).effectiveLogfile() == "-");
  CHECK(parseServerOptions(Args{"-nl-"}).effectiveLogfile() == "-");
  CHECK(parseServerOptions(Args{"--logfile-keep", "-1", "--logfile-keep=3"}).logfileKeep == 3u);  // the last wins
  CHECK(parseServerOptions(Args{"--plugin-path=a,b", "--plugin-pa", "c"}).pluginPath ==
        Args{cwd() + "/a,b", cwd() + "/c"});  // repeated, in order, a comma kept
  CHECK(usageErrorOf(Args{"-nl"}).find("requires an argument") != std::string::npos);
}
