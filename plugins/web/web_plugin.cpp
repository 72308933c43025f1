// The web plugin: `cppd web --port 8080 --path DIR [--index index.html] [--no-listing] [--max-connections N]
// [--max-connections-per-address N] [--keepalive-timeout S] [--header-timeout S] [--body-timeout S]
// [--send-timeout S] [--access-log]`.
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

std::size_t count(const cppd::Options& options, const std::string& name) {
  const long long value = options.get<long long>(name);
  if (value < 0) throw cppd::UsageError("--" + name + " " + std::to_string(value) + ": give 0 or more");
  return static_cast<std::size_t>(value);
}

// A deadline in seconds: finite, and positive unless zero means something (--keepalive-timeout 0: no keep-alive).
double seconds(const cppd::Options& options, const std::string& name, bool zeroAllowed) {
  const double value = options.get<double>(name);
  if (!std::isfinite(value) || value < 0 || (value == 0 && !zeroAllowed) || value > 86400) {
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
        {"port", "p", "The endpoint to listen on, or a bare port number.", "8080", OptionKind::endpoint, false, nullptr},
        {"path", "", "The directory to serve.", "", OptionKind::path, true, checkDirectory},
        {"index", "", "The file served for a directory.", "index.html", OptionKind::string, false, checkIndex},
        {"listing", "", "List directories that have no index file.", "true", OptionKind::flag, false, nullptr},
        {"max-connections", "",
         "Open connections at most; beyond it the longest-waiting idle or slow one is closed, or the new one "
         "answered 503 (0: as many as the descriptor limit leaves room for).",
         "0", OptionKind::integer, false, nullptr},
        {"max-connections-per-address", "", "Open connections from one client address at most (0: no limit).", "0",
         OptionKind::integer, false, nullptr},
        {"keepalive-timeout", "", "Close idle persistent connections after this long (0: no keep-alive).", "60",
         OptionKind::seconds, false, nullptr},
        {"header-timeout", "",
         "Close a connection whose request head has not all arrived this long after its first byte (after the "
         "accept, for the first request).",
         "10", OptionKind::seconds, false, nullptr},
        {"body-timeout", "", "Close a connection whose request body has not all arrived this long after its head.",
         "10", OptionKind::seconds, false, nullptr},
        {"send-timeout", "", "Close a connection whose answer has not moved for this long.", "60",
         OptionKind::seconds, false, nullptr},
        {"access-log", "", "Log every request in the common log format.", "", OptionKind::flag, false, nullptr},
    };
  }

  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    WebConfig config;
    config.root = options.text("path");
    checkDirectory(config.root);
    config.index = options.get<std::string>("index", "index.html");
    config.listing = options.flag("listing");
    config.maxConnections = count(options, "max-connections");
    config.maxPerAddress = count(options, "max-connections-per-address");
    config.keepAliveTimeout = seconds(options, "keepalive-timeout", true);
    config.headerTimeout = seconds(options, "header-timeout", false);
    config.bodyTimeout = seconds(options, "body-timeout", false);
    config.sendTimeout = seconds(options, "send-timeout", false);
    config.accessLog = options.flag("access-log");
    return std::make_shared<WebService>(std::move(config), cppd::Endpoint::parse(options.text("port")));
  }
};

}  // namespace web

CPPD_PLUGIN(web::WebMaker)
