#include <cppd/endpoint.hpp>

#include <arpa/inet.h>
#include <sys/un.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <cppd/error.hpp>

namespace cppd {
namespace {

// One ':'-separated piece of a description: a keyword argument when key is set, else a positional one.
struct Token {
  std::optional<std::string> key;
  std::string value;
};

using Params = std::map<std::string, std::string, std::less<>>;

bool allDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool isIPv4(const std::string& text) {
  in_addr addr{};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool isIPv6(const std::string& text) {
  in6_addr addr{};
  return inet_pton(AF_INET6, text.substr(0, text.find('%')).c_str(), &addr) == 1;
}

bool isHostName(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
}

// Backslash-escapes what would otherwise separate: ':' always, '=' in positional arguments (where it would start
// a keyword), and the backslash itself.
std::string escape(std::string_view text, bool positional) {
  std::string out;
  for (char c : text) {
    if (c == ':' || c == '\\' || (positional && c == '=')) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

// Turns a description into an Endpoint; every failure names the description and the problem.
struct EndpointParser {
  std::string_view description;

  [[noreturn]] void fail(std::string_view problem) const {
    throw UsageError(fmt::format("invalid endpoint '{}': {}", description, problem));
  }

  std::vector<Token> tokenize() const;
  Params bind(const std::vector<Token>& tokens, std::string_view type, std::initializer_list<std::string_view> positional,
              std::initializer_list<std::string_view> keywords) const;

  std::uint16_t port(const std::string& text) const;
  int backlog(const Params& params) const;
  std::string interface(std::string text, bool ipv6) const;

  Endpoint parse(std::string_view defaultInterface) const;
  Endpoint parseTcp(const std::vector<Token>& tokens, bool ipv6) const;
  Endpoint parseUnix(const std::vector<Token>& tokens) const;
  Endpoint parseSystemd(const std::vector<Token>& tokens) const;
};

std::vector<Token> EndpointParser::tokenize() const {
  std::vector<Token> tokens(1);
  bool inValue = false;  // after the segment's first unescaped '=', which makes it a keyword argument
  for (std::size_t i = 0; i < description.size(); ++i) {
    const char c = description[i];
    Token& token = tokens.back();
    if (c == '\\') {
      if (++i == description.size()) fail("it ends with a lone backslash (write \\\\ for a backslash)");
      token.value += description[i];
    } else if (c == ':') {
      tokens.emplace_back();
      inValue = false;
    } else if (c == '=' && !inValue) {
      token.key = std::move(token.value);
      token.value.clear();
      inValue = true;
    } else {
      token.value += c;
    }
  }
  return tokens;
}

Params EndpointParser::bind(const std::vector<Token>& tokens, std::string_view type,
                            std::initializer_list<std::string_view> positional,
                            std::initializer_list<std::string_view> keywords) const {
  Params params;
  auto next = positional.begin();
  for (std::size_t i = 1; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    std::string name;
    if (token.key) {
      if (token.key->empty()) fail(fmt::format("parameter '={}' has no name", token.value));
      if (std::find(keywords.begin(), keywords.end(), *token.key) == keywords.end()) {
        fail(fmt::format("unknown parameter '{}' for {} (expected {})", *token.key, type,
                         fmt::join(keywords, ", ")));
      }
      name = *token.key;
    } else {
      if (next == positional.end()) fail(fmt::format("unexpected argument '{}'", token.value));
      if (token.value.empty()) fail(fmt::format("argument {} is empty", i));
      name = std::string(*next++);
    }
    if (!params.emplace(name, token.value).second) fail(fmt::format("parameter '{}' given twice", name));
  }
  return params;
}

std::uint16_t EndpointParser::port(const std::string& text) const {
  if (!allDigits(text) || text.size() > 5 || std::stoul(text) > 65535) {
    fail(fmt::format("port '{}' is not a number 0-65535", text));
  }
  return static_cast<std::uint16_t>(std::stoul(text));
}

int EndpointParser::backlog(const Params& params) const {
  auto it = params.find("backlog");
  if (it == params.end()) return Endpoint::defaultBacklog;
  const std::string& text = it->second;
  if (!allDigits(text) || text.size() > 5 || std::stoul(text) < 1 || std::stoul(text) > 65535) {
    fail(fmt::format("backlog '{}' is not a number 1-65535", text));
  }
  return static_cast<int>(std::stoul(text));
}

std::string EndpointParser::interface(std::string text, bool ipv6) const {
  // Given but empty is a mistake, not a request for every interface: binding it would expose the service on
  // all of them. Every interface is said in full, or by leaving interface= out.
  if (text.empty()) {
    fail(ipv6 ? "interface= is empty; name the address to listen on (interface=\\:\\:1), write interface=\\:\\: "
                "for every IPv6 interface, or leave interface= out"
              : "interface= is empty; name the address to listen on (interface=127.0.0.1), write "
                "interface=0.0.0.0 for every IPv4 interface, or leave interface= out");
  }
  if (!ipv6 && text.find(':') != std::string::npos) {
    fail(fmt::format("interface '{}' is an IPv6 address; use tcp6:", text));
  }
  if (ipv6 && isIPv4(text)) fail(fmt::format("interface '{}' is an IPv4 address; use tcp:", text));
  const bool numeric = ipv6 ? isIPv6(text) : isIPv4(text);
  if (!numeric && (!isHostName(text) || (ipv6 && text.find(':') != std::string::npos))) {
    fail(fmt::format("interface '{}' is not an {} address or a host name", text, ipv6 ? "IPv6" : "IPv4"));
  }
  return text;
}

Endpoint EndpointParser::parseTcp(const std::vector<Token>& tokens, bool ipv6) const {
  const char* type = ipv6 ? "tcp6" : "tcp";
  Params params = bind(tokens, type, {"port", "interface", "backlog"}, {"port", "interface", "backlog"});
  auto portIt = params.find("port");
  if (portIt == params.end()) fail(fmt::format("missing port ({}:PORT)", type));
  Endpoint endpoint;
  endpoint.type_ = ipv6 ? EndpointType::tcp6 : EndpointType::tcp;
  endpoint.port_ = port(portIt->second);
  auto interfaceIt = params.find("interface");
  if (interfaceIt != params.end()) endpoint.interface_ = interface(interfaceIt->second, ipv6);
  endpoint.backlog_ = backlog(params);
  return endpoint;
}

Endpoint EndpointParser::parseUnix(const std::vector<Token>& tokens) const {
  Params params = bind(tokens, "unix", {"address", "mode", "backlog"}, {"address", "mode", "backlog"});
  auto pathIt = params.find("address");
  if (pathIt == params.end()) fail("missing socket path (unix:PATH)");
  if (pathIt->second.size() >= sizeof(sockaddr_un::sun_path)) {
    fail(fmt::format("socket path is {} bytes long; the limit is {}", pathIt->second.size(),
                     sizeof(sockaddr_un::sun_path) - 1));
  }
  Endpoint endpoint;
  endpoint.type_ = EndpointType::unixSocket;
  endpoint.path_ = pathIt->second;
  if (auto modeIt = params.find("mode"); modeIt != params.end()) {
    const std::string& text = modeIt->second;
    const bool octal = !text.empty() && text.size() <= 4 &&
                       std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
    if (!octal || std::stoul(text, nullptr, 8) > 0777) fail(fmt::format("mode '{}' is not an octal number 0-777", text));
    endpoint.mode_ = static_cast<unsigned>(std::stoul(text, nullptr, 8));
  }
  endpoint.backlog_ = backlog(params);
  return endpoint;
}

Endpoint EndpointParser::parseSystemd(const std::vector<Token>& tokens) const {
  Params params = bind(tokens, "systemd", {}, {"domain", "index", "name"});
  Endpoint endpoint;
  endpoint.type_ = EndpointType::systemd;
  auto domainIt = params.find("domain");
  if (domainIt == params.end()) fail("missing domain=INET, INET6 or UNIX");
  const std::string domain = lower(domainIt->second);
  if (domain == "inet") {
    endpoint.domain_ = AddressFamily::ipv4;
  } else if (domain == "inet6") {
    endpoint.domain_ = AddressFamily::ipv6;
  } else if (domain == "unix") {
    endpoint.domain_ = AddressFamily::unixSocket;
  } else {
    fail(fmt::format("domain '{}' is not INET, INET6 or UNIX", domainIt->second));
  }
  auto indexIt = params.find("index");
  auto nameIt = params.find("name");
  if ((indexIt == params.end()) == (nameIt == params.end())) fail("specify exactly one of index=N or name=FDNAME");
  if (indexIt != params.end()) {
    if (!allDigits(indexIt->second) || indexIt->second.size() > 4) {
      fail(fmt::format("index '{}' is not a number 0-9999", indexIt->second));
    }
    endpoint.index_ = static_cast<unsigned>(std::stoul(indexIt->second));
  } else {
    if (nameIt->second.empty()) fail("name= is empty");
    endpoint.name_ = nameIt->second;
  }
  return endpoint;
}

Endpoint EndpointParser::parse(std::string_view defaultInterface) const {
  if (description.empty()) fail("the description is empty (expected tcp:PORT, tcp6:PORT, unix:PATH or systemd:...)");
  if (allDigits(description)) {
    const std::string iface(defaultInterface);
    const bool ipv6 = iface.find(':') != std::string::npos;
    Endpoint endpoint;
    endpoint.type_ = ipv6 ? EndpointType::tcp6 : EndpointType::tcp;
    endpoint.port_ = port(std::string(description));
    if (!iface.empty()) endpoint.interface_ = interface(iface, ipv6);  // the caller's default: empty is every one
    return endpoint;
  }
  std::vector<Token> tokens = tokenize();
  if (tokens.front().key) fail("it must start with the endpoint type (tcp, tcp6, unix or systemd)");
  const std::string type = lower(tokens.front().value);
  if (type == "tcp") return parseTcp(tokens, false);
  if (type == "tcp6") return parseTcp(tokens, true);
  if (type == "unix") return parseUnix(tokens);
  if (type == "systemd") return parseSystemd(tokens);
  fail(fmt::format("unknown endpoint type '{}' (expected tcp, tcp6, unix or systemd)", tokens.front().value));
}

Endpoint Endpoint::parse(std::string_view description, std::string_view defaultInterface) {
  return EndpointParser{description}.parse(defaultInterface);
}

Endpoint Endpoint::tcp(std::uint16_t port, std::string interface, int backlog) {
  Endpoint endpoint;
  endpoint.type_ = interface.find(':') != std::string::npos ? EndpointType::tcp6 : EndpointType::tcp;
  endpoint.port_ = port;
  endpoint.interface_ = std::move(interface);
  endpoint.backlog_ = backlog;
  return endpoint;
}

Endpoint Endpoint::unixSocket(std::string path, std::optional<unsigned> mode, int backlog) {
  Endpoint endpoint;
  endpoint.type_ = EndpointType::unixSocket;
  endpoint.path_ = std::move(path);
  endpoint.mode_ = mode;
  endpoint.backlog_ = backlog;
  return endpoint;
}

std::string Endpoint::toString() const {
  std::string out;
  switch (type_) {
    case EndpointType::tcp:
    case EndpointType::tcp6:
      out = fmt::format("{}:{}", type_ == EndpointType::tcp ? "tcp" : "tcp6", port_);
      if (!interface_.empty()) out += ":interface=" + escape(interface_, false);
      break;
    case EndpointType::unixSocket:
      out = "unix:" + escape(path_, true);
      if (mode_) out += fmt::format(":mode={:o}", *mode_);
      break;
    case EndpointType::systemd: {
      const char* domain = domain_ == AddressFamily::ipv4 ? "INET" : domain_ == AddressFamily::ipv6 ? "INET6" : "UNIX";
      out = fmt::format("systemd:domain={}", domain);
      out += index_ ? fmt::format(":index={}", *index_) : ":name=" + escape(name_.value_or(""), false);
      return out;
    }
  }
  if (backlog_ != defaultBacklog) out += fmt::format(":backlog={}", backlog_);
  return out;
}

}  // namespace cppd
