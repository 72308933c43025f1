#include "metrics/metrics_server.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "metrics/exposition.hpp"
#include "unit/support/loopback.hpp"

using cppd::runner::MetricSample;
using cppd::runner::MetricsServer;
using cppd::runner::MetricsSettings;
using loopback::Client;

namespace {

// The daemon's side of the seam, as a test sets it.
class FakeSource final : public cppd::runner::IMetricsSource {
 public:
  std::vector<MetricSample> metrics() const override { return samples; }
  bool ready() const override { return isReady.load(); }
  std::vector<MetricSample> samples{{"cppd_workers", "Workers", MetricSample::Type::gauge, {}, 2}};
  std::atomic<bool> isReady{true};  // set by the client thread, read by the loop
};

MetricsSettings loopbackSettings() { return MetricsSettings{.endpoint = cppd::Endpoint::tcp(0, "127.0.0.1")}; }

std::string ask(const cppd::Address& server, const std::string& request, std::size_t chunk = 0) {
  Client client(server);
  client.send(request, chunk);
  return client.readAll();
}

std::string bodyOf(const std::string& response) { return response.substr(response.find("\r\n\r\n") + 4); }

// Serves while client runs, then checks the loop closes with nothing left open.
template <typename Settings, typename Fn>
void withServer(FakeSource& source, Settings settings, Fn client) {
  loopback::CapturedLog log;
  cppd::Reactor reactor;
  {
    MetricsServer server(reactor, source, settings);
    const cppd::Address address = server.address();
    loopback::serveWhile(reactor, [&] { client(address); });
  }
  reactor.callLater(std::chrono::milliseconds(0), [&] { reactor.stop(); });
  loopback::runWithDeadline(reactor);
  REQUIRE(reactor.tryClose());
}

}  // namespace

TEST_CASE("the metrics server answers GET /metrics whole and fed one byte at a time", "[metrics][net]") {
  FakeSource source;
  withServer(source, loopbackSettings(), [&](const cppd::Address& address) {
    for (const std::size_t chunk : {std::size_t{0}, std::size_t{1}}) {
      const std::string response = ask(address, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", chunk);
      CHECK(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
      CHECK(response.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
      CHECK(response.find("\r\nConnection: close\r\n") != std::string::npos);
      CHECK(bodyOf(response) == cppd::runner::writeExposition(source.samples));
    }
    const std::string head = ask(address, "HEAD /metrics HTTP/1.0\r\n\r\n");
    CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(bodyOf(head).empty());
  });
}

TEST_CASE("the metrics server's /ready follows the source; other paths and methods are refused", "[metrics][net]") {
  FakeSource source;
  withServer(source, loopbackSettings(), [&](const cppd::Address& address) {
    CHECK(bodyOf(ask(address, "GET /ready HTTP/1.1\r\n\r\n")) == "ready\n");
    source.isReady = false;  // the loop only reads it while answering, after this send
    const std::string stopping = ask(address, "GET /ready HTTP/1.1\r\n\r\n");
    CHECK(stopping.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
    CHECK(bodyOf(stopping) == "stopping\n");
    CHECK(ask(address, "GET /other HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0) == 0);
    const std::string post = ask(address, "DELETE /metrics HTTP/1.1\r\n\r\n");
    CHECK(post.rfind("HTTP/1.1 405 ", 0) == 0);
    CHECK(post.find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);
    CHECK(ask(address, "\x01\x02 junk\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(ask(address, "GET /metrics HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n").rfind("HTTP/1.1 431 ", 0) ==
          0);
  });
}

TEST_CASE("the metrics server closes a stalled client at its deadline and clients past the cap at once",
          "[metrics][net]") {
  FakeSource source;
  MetricsSettings settings = loopbackSettings();
  settings.deadline = std::chrono::milliseconds(100);
  settings.maxClients = 1;
  withServer(source, settings, [&](const cppd::Address& address) {
    Client stalled(address);
    stalled.send("GET /metr");
    Client over(address);
    CHECK(over.readAll().empty());  // the cap: closed without a word
    const auto start = std::chrono::steady_clock::now();
    CHECK(stalled.readAll().empty());  // the deadline: closed, nothing answered
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    // The slot is free again once the loop has seen the close (a later iteration than the abort): poll for it.
    std::string answer;
    const auto deadline = start + std::chrono::seconds(5);
    while (answer.empty() && std::chrono::steady_clock::now() < deadline) {
      try {
        answer = ask(address, "GET /ready HTTP/1.1\r\n\r\n");
      } catch (const std::runtime_error&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    CHECK(bodyOf(answer) == "ready\n");
  });
}
