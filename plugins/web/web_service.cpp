#include "web_service.hpp"

#include <utility>

#include <cppd/stream_server_service.hpp>

namespace web {

WebService::WebService(WebConfig config, const cppd::Endpoint& endpoint)
    : factory_(std::make_shared<HttpFactory>(std::move(config))) {
  addService(std::make_shared<cppd::StreamServerService>(endpoint, factory_));
}

}  // namespace web
