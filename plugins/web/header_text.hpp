#pragma once

// The two ways the web plugin reads header text: field names and tokens compared without regard to ASCII case,
// and values with the optional white space around them (RFC 9110 5.6.3: OWS is spaces and horizontal tabs).

#include <cstddef>
#include <string_view>

namespace web {

/// Whether text equals lower (given in lower case), ignoring the case of ASCII letters in text.
inline bool equalsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] + 32) : text[i];
    if (c != lower[i]) return false;
  }
  return true;
}

/// text without the spaces and tabs at either end.
inline std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace web
