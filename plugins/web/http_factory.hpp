#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <unordered_set>

#include <cppd/factory.hpp>
#include <cppd/reactor.hpp>

#include "document_root.hpp"
#include "file_cache.hpp"

namespace web {

class HttpProtocol;

/// What `cppd web` was asked to do.
struct WebConfig {
  std::string root;                   // --path, absolute
  std::string index = "index.html";   // --index
  bool listing = true;                // --listing / --no-listing
  std::size_t maxConnections = 0;     // --max-connections; 0 is unlimited
  double keepAliveTimeout = 60;       // --keepalive-timeout in seconds; 0 turns keep-alive off
  bool accessLog = false;             // --access-log
};

/// Builds an HttpProtocol per connection and holds what they share: the document root, the file cache, the
/// Date header of the current second, and the connection list the keep-alive sweep walks once a second.
///
/// Thread affinity: loop thread only. Throws cppd::Error from the constructor when the root cannot be opened.
class HttpFactory final : public cppd::Factory, public std::enable_shared_from_this<HttpFactory> {
 public:
  explicit HttpFactory(WebConfig config, cppd::Reactor& reactor = cppd::globalReactor());
  ~HttpFactory() override;

  /// nullptr (the connection is closed at once) while --max-connections connections are open.
  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address& addr) override;

  /// Starts and stops the once-a-second keep-alive sweep.
  void startFactory() override;
  void stopFactory() override;
  std::string logPrefix() const override { return "HttpFactory"; }

  const WebConfig& config() const noexcept { return config_; }
  FileCache& files() noexcept { return files_; }

  /// The IMF-fixdate of now, formatted once per second.
  const std::string& date(std::time_t now);

  /// Seconds counted by the sweep: what connections compare their last activity with.
  std::uint64_t tick() const noexcept { return tick_; }

  /// Closes connections idle (or stuck in one request) for the keep-alive timeout. Runs once a second.
  void sweep();

  void add(HttpProtocol* protocol) { live_.insert(protocol); }
  void remove(HttpProtocol* protocol) { live_.erase(protocol); }
  std::size_t liveConnections() const noexcept { return live_.size(); }

 private:
  void scheduleSweep();

  WebConfig config_;
  cppd::Reactor& reactor_;
  DocumentRoot root_;
  FileCache files_;
  std::string date_;
  std::time_t dateSecond_ = -1;
  std::uint64_t tick_ = 0;
  std::unordered_set<HttpProtocol*> live_;
  cppd::DelayedCall sweep_;
  bool refusing_ = false;  // logged the max-connections warning for this episode
};

}  // namespace web
