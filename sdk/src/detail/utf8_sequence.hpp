#pragma once

// Recognising UTF-8 sequences in log text, shared by the text and the JSON line formats: both copy well-formed
// UTF-8 and escape the rest, and both make the characters that change how a line displays visible.

#include <cstddef>
#include <string_view>

namespace cppd::detail {

/// The length of the well-formed UTF-8 sequence text starts with (RFC 3629: no overlong forms, no surrogates,
/// nothing above U+10FFFF), or 0 when text does not start with one (or starts with ASCII).
std::size_t wellFormedUtf8Length(std::string_view text) noexcept;

/// For a well-formed sequence: a C1 control, U+0080..U+009F, which some terminals obey.
bool isC1Control(std::string_view sequence) noexcept;

/// For a well-formed sequence: the invisible characters that reorder the text around them when a log is viewed
/// (Unicode 9, "Trojan Source"): ALM U+061C, LRM/RLM U+200E..U+200F, LRE..RLO U+202A..U+202E, LRI..PDI
/// U+2066..U+2069. A client's name holding U+202E would display a log line's following fields backwards.
bool isBidiControl(std::string_view sequence) noexcept;

/// For a well-formed sequence: U+2028 or U+2029, line breaks to JavaScript and to some log viewers.
bool isUnicodeLineBreak(std::string_view sequence) noexcept;

}  // namespace cppd::detail
