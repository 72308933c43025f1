#pragma once

#include <string_view>

namespace web {

/// The Content-Type for a file name, from its extension (case-insensitive): "text/html; charset=utf-8" for
/// "index.html", "application/octet-stream" when unknown. Pure; the view is static.
std::string_view contentTypeFor(std::string_view name);

}  // namespace web
