// Endpoint strings reach cppd from the command line, plugin options of kind endpoint and deployment files.
// Input: the description, optionally followed by NUL and the default interface for a bare port number.
// Checks: parse() refuses with cppd::UsageError only; an accepted endpoint's toString() parses back to an equal
// endpoint (endpoint.hpp promises that parse() accepts the canonical description again).

#include <cppd/endpoint.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string_view description = input.substr(0, nul);
  const std::string_view defaultInterface = nul == std::string_view::npos ? "" : input.substr(nul + 1);

  std::optional<cppd::Endpoint> endpoint;
  cppd::fuzz::refusedOrAccepted("Endpoint::parse", [&] { endpoint = cppd::Endpoint::parse(description, defaultInterface); });
  if (!endpoint) return 0;

  const std::string canonical = endpoint->toString();
  std::optional<cppd::Endpoint> again;
  try {
    again = cppd::Endpoint::parse(canonical);
  } catch (const cppd::Error& e) {
    cppd::fuzz::fail("toString() of an accepted endpoint does not parse again: '" + canonical + "': " + e.what());
  }
  cppd::fuzz::check(*again == *endpoint, "parse(toString()) differs from the endpoint: '" + canonical + "' became '" +
                                             again->toString() + "'");
  return 0;
}
