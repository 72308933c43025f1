#include "detail/type_name.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeindex>
#include <mutex>
#include <unordered_map>

namespace cppd::detail {
namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

// Drops every "ns::" prefix that sits outside template arguments.
std::string stripNamespaces(const std::string& name) {
  std::size_t start = 0;
  int depth = 0;
  for (std::size_t i = 0; i + 1 < name.size(); ++i) {
    const char c = name[i];
    if (c == '<' || c == '(') ++depth;
    if (c == '>' || c == ')') --depth;
    if (depth == 0 && c == ':' && name[i + 1] == ':') start = i + 2;
  }
  return name.substr(start);
}

}  // namespace

const std::string& shortTypeName(const std::type_info& type) {
  // Never destroyed: connections closed late in the process's life (static destructors) still name their
  // protocol and factory. Entries are never erased, so the references handed out stay valid.
  static auto* cache = new std::unordered_map<std::type_index, std::string>();
  static auto* mutex = new std::mutex();
  std::lock_guard<std::mutex> lock(*mutex);
  auto [it, inserted] = cache->try_emplace(std::type_index(type));
  if (inserted) it->second = stripNamespaces(demangle(type.name()));
  return it->second;
}

}  // namespace cppd::detail
