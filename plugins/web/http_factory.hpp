#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <cppd/directory_jail.hpp>
#include <cppd/factory.hpp>
#include <cppd/reactor.hpp>

#include "connection_list.hpp"
#include "file_cache.hpp"

namespace web {

class HttpProtocol;

/// What `cppd web` was asked to do. The deadlines are in seconds and checked by a once-a-second sweep, so each
/// may run up to a second over.
struct WebConfig {
  std::string root;                     // --path, absolute
  std::string index = "index.html";     // --index
  bool listing = true;                  // --listing / --no-listing
  std::size_t maxConnections = 0;       // --max-connections; 0: as many as the descriptor limit leaves room for
  std::size_t maxPerAddress = 0;        // --max-connections-per-address; 0 is unlimited
  double keepAliveTimeout = 60;         // --keepalive-timeout; 0 turns keep-alive off
  double headerTimeout = 10;            // --header-timeout: from a request's first byte (or the accept) to its end
  double bodyTimeout = 10;              // --body-timeout: from the end of a request's head to the end of its body
  double sendTimeout = 60;              // --send-timeout: longest time without sending progress
  double drainGrace = 1;                // --drain-grace: a stopping server's idle connections wait this long
  bool accessLog = false;               // --access-log
};

/// Builds an HttpProtocol per connection and holds what they share: the document root, the file cache, the
/// Date header of the current second, the connections (for the once-a-second sweep that enforces the deadlines)
/// and the limits on how many there are.
///
/// When the connection limit is reached, the connection that has waited longest for its client is closed to
/// make room (an idle keep-alive one first, then one that has spent at least a second sending its request), so
/// clients that are slow on purpose cannot hold every slot; when none can be closed, or the client's address has
/// --max-connections-per-address connections, the new connection is answered 503 with Retry-After.
///
/// Thread affinity: loop thread only. Throws cppd::Error from the constructor when the root cannot be opened.
class HttpFactory final : public cppd::Factory, public std::enable_shared_from_this<HttpFactory> {
 public:
  /// Refusals (503) being sent and lingering at one time; beyond it a connection is closed unanswered, so a
  /// flood cannot turn refusals into a way of holding descriptors.
  static constexpr std::size_t kMaxRefusals = 32;

  explicit HttpFactory(WebConfig config, cppd::Reactor& reactor = cppd::globalReactor());
  ~HttpFactory() override;

  /// A protocol for the connection, a refusing one (503), or nullptr (closed at once) when refusals are full.
  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address& addr) override;

  /// Starts and stops the once-a-second sweep; startFactory settles the connection limit.
  void startFactory() override;
  void stopFactory() override;
  std::string logPrefix() const override { return "HttpFactory"; }

  const WebConfig& config() const noexcept { return config_; }
  cppd::Reactor& reactor() const noexcept { return reactor_; }
  FileCache& files() noexcept { return files_; }

  /// The connection limit in force: --max-connections, or the one derived from RLIMIT_NOFILE.
  std::size_t connectionLimit() const noexcept { return limit_; }

  /// The IMF-fixdate of now, formatted once per second.
  const std::string& date(std::time_t now);

  /// Seconds counted by the sweep: what connections measure their deadlines in.
  std::uint64_t tick() const noexcept { return tick_; }

  /// Closes the connections whose deadline has passed. Runs once a second.
  void sweep();

  /// Connections waiting for their client: idle between requests, or sending a request.
  ConnectionList& idle() noexcept { return idle_; }
  ConnectionList& reading() noexcept { return reading_; }

  void add(HttpProtocol* protocol);
  void remove(HttpProtocol* protocol);
  std::size_t liveConnections() const noexcept { return live_.size(); }

 private:
  void scheduleSweep();
  bool evictOne();
  std::shared_ptr<cppd::Protocol> refuse(const std::string& host, const char* why);

  WebConfig config_;
  cppd::Reactor& reactor_;
  cppd::DirectoryJail root_;  // the document root: every request path is opened beneath it
  FileCache files_;
  std::string date_;
  std::time_t dateSecond_ = -1;
  std::uint64_t tick_ = 0;
  std::size_t limit_ = 0;
  std::unordered_set<HttpProtocol*> live_;  // every connection, refusing ones included
  std::size_t refusals_ = 0;                // of live_, those answering 503
  std::unordered_map<std::string, std::size_t> perAddress_;  // only with --max-connections-per-address
  ConnectionList idle_;
  ConnectionList reading_;
  cppd::DelayedCall sweep_;
  bool refusing_ = false;  // logged the connection-limit warning for this episode
};

/// The connection limit that descriptors allow: half of what RLIMIT_NOFILE's soft limit leaves after room for
/// the file cache, refusals and the process's own descriptors, because a connection sending a file may hold a
/// second one (the duplicate its writability is watched on). Pure but for getrlimit.
std::size_t connectionLimitFromDescriptors();

}  // namespace web
