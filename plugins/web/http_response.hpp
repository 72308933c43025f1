#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace web {

/// "Not Found" for 404; "Unknown" for codes this server never sends.
std::string_view reasonPhrase(int status);

/// The small HTML body of an error answer: "<html>...<h1>404 Not Found</h1>...".
std::string errorBody(int status);

/// Appends "HTTP/1.1 <status> <reason>\r\nServer: cppd\r\nDate: <date>\r\n" to out.
void appendStatusLine(std::string& out, int status, std::string_view date);

/// Appends "<name>: <value>\r\n" with a decimal value.
void appendNumberHeader(std::string& out, std::string_view name, std::uint64_t value);

}  // namespace web
