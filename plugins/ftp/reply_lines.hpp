#pragma once

#include <string>
#include <string_view>

namespace ftp {

/// The lines of RFC 959 replies, made so that no text can end a line early or fake another reply: every reply
/// the control connection sends is built here. Text may come from the client (a path, a user name) or from the
/// file system (a file name), so it is encoded rather than trusted:
/// - a CR is sent as CR NUL (RFC 959's rule for a CR inside a path name, section 4.1 of the PWD appendix), and
///   a LF as NUL, so the only CR LF in a line is the one that ends it; a CR NUL already in the text (a name
///   encoded for a listing) stays as it is, so encoding twice changes nothing;
/// - a line inside a multi-line reply that begins with a digit gets a leading space (RFC 959 section 4.2), so
///   it cannot be read as the reply's last line ("213 ...").
std::string encodeReplyText(std::string_view text);

/// "<code> <text>\r\n": a single-line reply, or the last line of a multi-line one.
std::string replyLine(int code, std::string_view text);

/// "<code>-<text>\r\n": the first line of a multi-line reply.
std::string replyFirstLine(int code, std::string_view text);

/// "<text>\r\n" (" <text>\r\n" when text begins with a digit): a line between the first and the last.
std::string replyInnerLine(std::string_view text);

}  // namespace ftp
