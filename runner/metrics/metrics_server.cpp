#include "metrics/metrics_server.hpp"

#include <http_parser.h>
#include <unistd.h>

#include <cerrno>

#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/factory.hpp>
#include <cppd/log.hpp>
#include <cppd/protocol.hpp>

#include "metrics/exposition.hpp"

namespace cppd::runner {
namespace {

// What the clients share with the server; the server clears source when it goes, so a late request gets a 503.
struct Shared {
  Reactor* reactor;
  const IMetricsSource* source;
  MetricsSettings settings;
  std::size_t clients = 0;
};

struct Answer {
  int status = 200;
  std::string body;
  std::string contentType = "text/plain; charset=utf-8";
  std::string extraHeaders = {};
};

Answer plain(int status, std::string body) { return {status, std::move(body), "text/plain; charset=utf-8"}; }

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    default: return "Service Unavailable";
  }
}

// The path of a request target ("/metrics?x=1" and "http://host/metrics" are both /metrics), empty when the
// target is not a URL.
std::string_view targetPath(std::string_view target) {
  http_parser_url url;
  http_parser_url_init(&url);
  if (http_parser_parse_url(target.data(), target.size(), 0, &url) != 0) return {};
  if ((url.field_set & (1U << UF_PATH)) == 0) return "/";
  return target.substr(url.field_data[UF_PATH].off, url.field_data[UF_PATH].len);
}

Answer route(unsigned method, std::string_view target, const IMetricsSource* source) {
  if (method != HTTP_GET && method != HTTP_HEAD) {
    return {405, "only GET and HEAD are served here\n", "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n"};
  }
  const std::string_view path = targetPath(target);
  if (path.empty()) return plain(400, "bad request target\n");
  if (path == "/metrics") {
    if (source == nullptr) return plain(503, "stopping\n");
    return {200, writeExposition(source->metrics()), expositionContentType};
  }
  if (path == "/ready") {
    if (source != nullptr && source->ready()) return plain(200, "ready\n");
    return plain(503, "stopping\n");
  }
  return plain(404, "not found: the paths are /metrics and /ready\n");
}

class MetricsProtocol : public Protocol {
 public:
  explicit MetricsProtocol(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
  }
  ~MetricsProtocol() override { deadline_.cancel(); }

  void connectionMade() override {
    if (shared_->clients >= shared_->settings.maxClients) {
      answered_ = true;
      transport().abortConnection();  // over the cap: closed at once, nothing read or written
      return;
    }
    counted_ = true;
    ++shared_->clients;
    // A client that stalls, or does not read its answer, is closed at the deadline: it cannot hold a slot.
    deadline_ = shared_->reactor->callLater(shared_->settings.deadline, [this] { transport().abortConnection(); });
  }

  void dataReceived(std::string_view data) override {
    if (answered_) return;  // a body, or a second request: one answer per connection
    const std::size_t room = shared_->settings.maxHead - headBytes_;
    const std::string_view head = data.substr(0, room);
    headBytes_ += head.size();
    http_parser_execute(&parser_, &settings(), head.data(), head.size());
    if (answered_) return;
    if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK) return answer(plain(400, "malformed request\n"));
    if (headBytes_ >= shared_->settings.maxHead) {
      return answer(plain(431, fmt::format("request head longer than {} bytes\n", shared_->settings.maxHead)));
    }
  }

  void connectionLost(const DisconnectReason&) override {
    deadline_.cancel();
    if (counted_) --shared_->clients;
    counted_ = false;
  }

  std::string logPrefix() const override { return "MetricsProtocol"; }

 private:
  static const http_parser_settings& settings() {
    static const http_parser_settings kSettings = [] {
      http_parser_settings s{};
      s.on_url = &MetricsProtocol::onUrl;
      s.on_headers_complete = &MetricsProtocol::onHeadersComplete;
      return s;
    }();
    return kSettings;
  }

  static int onUrl(http_parser* parser, const char* at, std::size_t length) {
    static_cast<MetricsProtocol*>(parser->data)->target_.append(at, length);
    return 0;
  }

  static int onHeadersComplete(http_parser* parser) {
    auto& self = *static_cast<MetricsProtocol*>(parser->data);
    self.head_ = parser->method == HTTP_HEAD;
    self.answer(route(parser->method, self.target_, self.shared_->source));
    http_parser_pause(parser, 1);  // the rest of the input is not read
    return 0;
  }

  void answer(const Answer& a) {
    answered_ = true;
    const std::string head = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n",
        a.status, reasonPhrase(a.status), a.contentType, a.body.size(), a.extraHeaders);
    if (head_) {
      transport().write(head);
    } else {
      transport().writeSequence({head, a.body});
    }
    // A half-close, not a close: input the client is still sending (a body, an oversized head) would make the
    // kernel answer with a reset that can destroy the answer before the client reads it. The deadline ends a
    // client that never closes its side.
    transport().loseWriteConnection();
  }

  std::shared_ptr<Shared> shared_;
  http_parser parser_{};
  std::string target_;
  std::size_t headBytes_ = 0;
  DelayedCall deadline_;
  bool head_ = false;
  bool counted_ = false;
  bool answered_ = false;
};

}  // namespace

class MetricsServer::Factory : public cppd::Factory {
 public:
  explicit Factory(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) { setNoisy(false); }

  std::shared_ptr<Protocol> buildProtocol(const Address&) override {
    auto protocol = std::make_shared<MetricsProtocol>(shared_);
    std::erase_if(clients_, [](const std::weak_ptr<MetricsProtocol>& p) { return p.expired(); });
    clients_.push_back(protocol);
    return protocol;
  }

  std::string logPrefix() const override { return "MetricsFactory"; }

  void closeClients() {
    shared_->source = nullptr;
    for (const auto& weak : clients_) {
      if (auto client = weak.lock(); client && client->connected()) client->transport().abortConnection();
    }
    clients_.clear();
  }

 private:
  std::shared_ptr<Shared> shared_;
  std::vector<std::weak_ptr<MetricsProtocol>> clients_;
};

namespace {

std::string describe(const Address& address) {
  if (!address.isTcp()) return address.path();
  if (address.host().find(':') != std::string::npos) return fmt::format("[{}]:{}", address.host(), address.port());
  return fmt::format("{}:{}", address.host(), address.port());
}

// A unix: socket without mode= is private to the daemon's user, as the control socket is: what a scrape shows
// (services, connection counts) is for its operator; mode= opens it to a group on purpose.
Endpoint privateByDefault(const Endpoint& endpoint) {
  if (endpoint.type() != EndpointType::unixSocket || endpoint.mode()) return endpoint;
  return Endpoint::unixSocket(endpoint.path(), 0600, endpoint.backlog());
}

}  // namespace

MetricsServer::MetricsServer(Reactor& reactor, const IMetricsSource& source, MetricsSettings settings) {
  const Endpoint endpoint = privateByDefault(settings.endpoint);
  const std::optional<uid_t> owner = settings.owner;
  const std::optional<gid_t> group = settings.group;
  factory_ = std::make_shared<Factory>(std::make_shared<Shared>(Shared{&reactor, &source, std::move(settings)}));
  try {
    port_ = listen(endpoint, factory_, reactor);
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("metrics endpoint: {}; give --metrics another endpoint", e.what()));
  }
  if (endpoint.type() == EndpointType::unixSocket && (owner || group) &&
      ::chown(endpoint.path().c_str(), owner.value_or(static_cast<uid_t>(-1)),
              group.value_or(static_cast<gid_t>(-1))) != 0) {
    const int error = errno;
    port_.stopListening();  // removes the file
    throw systemError("chown metrics socket", endpoint.path(), error);
  }
  log::info("Metrics endpoint listening on {} (GET /metrics, /ready)", describe(port_.getHost()));
}

MetricsServer::~MetricsServer() {
  port_.stopListening();
  factory_->closeClients();
}

}  // namespace cppd::runner
