#include "request_path.hpp"

#include <http_parser.h>

namespace web {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one segment into out; the status says why it cannot name a file under the root.
PathStatus decodeSegment(std::string_view segment, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < segment.size(); ++i) {
    char c = segment[i];
    if (c == '%') {
      if (i + 2 >= segment.size()) return PathStatus::badRequest;
      const int high = hexValue(segment[i + 1]);
      const int low = hexValue(segment[i + 2]);
      if (high < 0 || low < 0) return PathStatus::badRequest;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    if (c == '\0' || c == '/') return PathStatus::notFound;
    out.push_back(c);
  }
  if (out == "..") return PathStatus::forbidden;
  return PathStatus::ok;
}

// The path and query of an absolute-form target, through http_parser's URL parser.
bool splitAbsolute(std::string_view target, std::string_view& path, std::string_view& query) {
  http_parser_url url;
  http_parser_url_init(&url);
  if (http_parser_parse_url(target.data(), target.size(), 0, &url) != 0) return false;
  if ((url.field_set & (1 << UF_HOST)) == 0) return false;
  path = (url.field_set & (1 << UF_PATH)) != 0 ? target.substr(url.field_data[UF_PATH].off, url.field_data[UF_PATH].len)
                                                : std::string_view("/");
  if ((url.field_set & (1 << UF_QUERY)) != 0) {
    query = target.substr(url.field_data[UF_QUERY].off - 1, url.field_data[UF_QUERY].len + 1);
  }
  return true;
}

// RFC 3986 2: what may stand in a URI as it is; '%' too, since the path and query are still encoded.
bool uriByte(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '"': case '<': case '>': case '\\': case '^': case '`': case '{': case '|': case '}': return false;
    default: return true;
  }
}

void appendUriSafe(std::string_view text, std::string& out) {
  constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (uriByte(byte)) {
      out.push_back(c);
    } else {
      out.append({'%', kHex[byte >> 4], kHex[byte & 0xf]});
    }
  }
}

}  // namespace

std::string redirectLocation(const RequestPath& path) {
  std::string_view raw = path.rawPath;
  while (raw.size() > 1 && raw[0] == '/' && raw[1] == '/') raw.remove_prefix(1);
  std::string location;
  appendUriSafe(raw, location);
  location.push_back('/');
  appendUriSafe(path.query, location);
  return location;
}

RequestPath parseRequestPath(std::string_view target) {
  RequestPath result;
  std::string_view path;
  std::string_view query;
  if (!target.empty() && target.front() == '/') {
    const std::size_t end = target.find_first_of("?#");
    path = target.substr(0, end);
    if (end != std::string_view::npos && target[end] == '?') {
      query = target.substr(end, target.find('#', end) - end);
    }
  } else if (!splitAbsolute(target, path, query)) {
    return result;
  }
  result.rawPath.assign(path);
  result.query.assign(query);
  result.directory = path.back() == '/';
  std::string segment;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const PathStatus status = decodeSegment(path.substr(start, end - start), segment);
    if (status != PathStatus::ok) {
      result.status = status;
      return result;
    }
    if (!segment.empty() && segment != ".") {
      if (!result.relative.empty()) result.relative.push_back('/');
      result.relative.append(segment);
    }
    start = end + 1;
  }
  result.status = PathStatus::ok;
  return result;
}

}  // namespace web
