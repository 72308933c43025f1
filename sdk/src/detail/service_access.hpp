#pragma once

#include <cppd/service.hpp>

namespace cppd::detail {

/// The SDK's side door into IService: a collection recording that it adopted a child or let it go. Services only
/// change parents through setServiceParent()/disownServiceParent(), which go through the collection.
struct ServiceAccess {
  static void setParentLink(IService& service, IServiceCollection* parent) { service.setParentLink(parent); }
};

}  // namespace cppd::detail
