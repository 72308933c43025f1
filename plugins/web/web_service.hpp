#pragma once

#include <memory>

#include <cppd/endpoint.hpp>
#include <cppd/multi_service.hpp>

#include "http_factory.hpp"

namespace web {

/// The web server: an HttpFactory behind a StreamServerService on the endpoint (bound in
/// privilegedStartService, before privileges are dropped). Constructing it opens the document root, so a root
/// that cannot be opened is a start-up error (cppd::Error naming it) before any fork.
class WebService final : public cppd::MultiService {
 public:
  WebService(WebConfig config, const cppd::Endpoint& endpoint);

  const std::shared_ptr<HttpFactory>& factory() const noexcept { return factory_; }

 private:
  std::shared_ptr<HttpFactory> factory_;
};

}  // namespace web
