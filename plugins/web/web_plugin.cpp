// The web plugin: `cppd web --port 8080 --path DIR [--index index.html] [--no-listing] [--max-connections N]
// [--max-connections-per-address N] [--keepalive-timeout S] [--header-timeout S] [--body-timeout S]
// [--send-timeout S] [--drain-grace S] [--access-log]`.
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <cppd/endpoint.hpp>
#include <cppd/plugin.hpp>

#include "web_service.hpp"

namespace web {
namespace {

void checkDirectory(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    throw cppd::UsageError("--path " + path + ": " + std::strerror(errno) + "; give the directory to serve");
  }
  if (!S_ISDIR(info.st_mode)) throw cppd::UsageError("--path " + path + ": not a directory; give the directory to serve");
}

void checkIndex(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    throw cppd::UsageError("--index '" + name + "': give a plain file name such as index.html");
  }
}

// A deadline: positive unless zero means something (--keepalive-timeout 0: no keep-alive), at most a day.
double seconds(const cppd::Options& options, const std::string& name, bool zeroAllowed) {
  const double value = options.get<double>(name);
  if ((value == 0 && !zeroAllowed) || value > 86400) {
    throw cppd::UsageError("--" + name + " " + options.text(name) + ": give a number of seconds " +
                           (zeroAllowed ? "from 0" : "above 0") + " to 86400");
  }
  return value;
}

}  // namespace

class WebMaker final : public cppd::IServiceMaker {
 public:
  std::string tapname() const override { return "web"; }

  std::string description() const override { return "A static-file HTTP/1.1 server for a directory."; }

  bool servesFiles() const override { return true; }

  std::vector<cppd::OptionSpec> options() const override {
    using cppd::OptionKind;
    return {
        {.longName = "port", .shortName = "p", .help = "The endpoint to listen on, or a bare port number.",
         .defaultValue = "8080", .kind = OptionKind::endpoint},
        {.longName = "path", .help = "The directory to serve.", .kind = OptionKind::path, .required = true,
         .validator = checkDirectory},
        {.longName = "index", .help = "The file served for a directory.", .defaultValue = "index.html",
         .validator = checkIndex},
        {.longName = "listing", .help = "List directories that have no index file.", .defaultValue = "true",
         .kind = OptionKind::flag},
        {.longName = "max-connections",
         .help = "Open connections at most; beyond it the longest-waiting idle or slow one is closed, or the new "
                 "one answered 503 (0: as many as the descriptor limit leaves room for).",
         .defaultValue = "0", .kind = OptionKind::count},
        {.longName = "max-connections-per-address",
         .help = "Open connections from one client address at most (0: no limit).", .defaultValue = "0",
         .kind = OptionKind::count},
        {.longName = "keepalive-timeout", .help = "Close idle persistent connections after this long (0: no keep-alive).",
         .defaultValue = "60", .kind = OptionKind::seconds},
        {.longName = "header-timeout",
         .help = "Close a connection whose request head has not all arrived this long after its first byte (after "
                 "the accept, for the first request).",
         .defaultValue = "10", .kind = OptionKind::seconds},
        {.longName = "body-timeout",
         .help = "Close a connection whose request body has not all arrived this long after its head.",
         .defaultValue = "10", .kind = OptionKind::seconds},
        {.longName = "send-timeout", .help = "Close a connection whose answer has not moved for this long.",
         .defaultValue = "60", .kind = OptionKind::seconds},
        {.longName = "drain-grace",
         .help = "When the server stops, how long an idle persistent connection stays open for one more request "
                 "(answered with Connection: close) before it is closed; at most --keepalive-timeout.",
         .defaultValue = "1", .kind = OptionKind::seconds},
        {.longName = "access-log", .help = "Log every request in the common log format.", .kind = OptionKind::flag},
    };
  }

  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    WebConfig config;
    config.root = options.get<std::string>("path");
    checkDirectory(config.root);
    config.index = options.get<std::string>("index");
    config.listing = options.get<bool>("listing");
    config.maxConnections = options.get<std::size_t>("max-connections");
    config.maxPerAddress = options.get<std::size_t>("max-connections-per-address");
    config.keepAliveTimeout = seconds(options, "keepalive-timeout", true);
    config.headerTimeout = seconds(options, "header-timeout", false);
    config.bodyTimeout = seconds(options, "body-timeout", false);
    config.sendTimeout = seconds(options, "send-timeout", false);
    config.drainGrace = seconds(options, "drain-grace", true);
    config.accessLog = options.get<bool>("access-log");
    return std::make_shared<WebService>(std::move(config), options.get<cppd::Endpoint>("port"));
  }
};

}  // namespace web

CPPD_PLUGIN(web::WebMaker)
