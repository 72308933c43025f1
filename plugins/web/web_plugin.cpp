// The web plugin: `cppd web --port 8080 --path DIR [--index index.html] [--no-listing] [--max-connections N]
// [--keepalive-timeout SECONDS] [--access-log]`.
#include <sys/stat.h>

#include <cerrno>
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
        {"max-connections", "", "Refuse connections beyond this many open ones (0: no limit).", "0",
         OptionKind::integer, false, nullptr},
        {"keepalive-timeout", "", "Close idle persistent connections after this long (0: no keep-alive).", "60",
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
    const long long maxConnections = options.get<long long>("max-connections", 0);
    if (maxConnections < 0) throw cppd::UsageError("--max-connections " + std::to_string(maxConnections) + ": give 0 or more");
    config.maxConnections = static_cast<std::size_t>(maxConnections);
    config.keepAliveTimeout = options.get<double>("keepalive-timeout", 60.0);
    config.accessLog = options.flag("access-log");
    return std::make_shared<WebService>(std::move(config), cppd::Endpoint::parse(options.text("port")));
  }
};

}  // namespace web

CPPD_PLUGIN(web::WebMaker)
