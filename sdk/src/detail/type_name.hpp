#pragma once

#include <string>
#include <typeinfo>

namespace cppd::detail {

/// The class name of type without namespaces or template arguments' namespaces stripped from the outer name:
/// "cppd::(anonymous namespace)::PoetryProtocol" -> "PoetryProtocol". Cached per type; loop thread or any
/// thread (the cache is thread-local).
const std::string& shortTypeName(const std::type_info& type);

}  // namespace cppd::detail
