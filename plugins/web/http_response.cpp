#include "http_response.hpp"

#include <charconv>

namespace web {

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string errorBody(int status) {
  std::string title = std::to_string(status);
  title.push_back(' ');
  title.append(reasonPhrase(status));
  return "<!DOCTYPE html>\n<html><head><title>" + title + "</title></head><body><h1>" + title +
         "</h1></body></html>\n";
}

void appendNumberHeader(std::string& out, std::string_view name, std::uint64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(name);
  out.append(": ");
  out.append(digits, result.ptr);
  out.append("\r\n");
}

void appendStatusLine(std::string& out, int status, std::string_view date) {
  char digits[8];
  const auto result = std::to_chars(digits, digits + sizeof digits, status);
  out.append("HTTP/1.1 ");
  out.append(digits, result.ptr);
  out.push_back(' ');
  out.append(reasonPhrase(status));
  out.append("\r\nServer: cppd\r\nDate: ");
  out.append(date);
  out.append("\r\n");
}

}  // namespace web
