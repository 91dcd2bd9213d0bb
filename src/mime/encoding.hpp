// Content encodings for message bodies and headers: quoted-printable (RFC 2045 §6.7),
// base64 body lines (RFC 2045 §6.8), RFC 2047 encoded words for non-ASCII header text.
// No I/O.
#pragma once

#include <string>
#include <string_view>

namespace sesame::mime {

/// True when every line is at most `max` octets (CRLF excluded).
bool lines_within(std::string_view s, std::size_t max);
/// Quoted-printable with CRLF hard line breaks and soft breaks keeping lines <= 76.
std::string quoted_printable(std::string_view text);
/// Quoted-printable decoded (RFC 2045 §6.7): "=XX" (either case) and soft line breaks
/// ("=" at a line's end, after optional whitespace); an "=" that begins neither stays as is.
std::string decode_quoted_printable(std::string_view text);
/// Base64 in 76-character lines ending in CRLF.
std::string base64_lines(std::string_view bytes);
/// The text as one or more "=?UTF-8?B?...?=" words separated by CRLF SP (folded), each
/// word <= 75 characters, never splitting a UTF-8 sequence; ASCII text is returned as is.
std::string encode_words(std::string_view utf8, std::string_view charset = "UTF-8");
/// Normalizes every line end (CRLF, bare LF, bare CR) to CRLF.
std::string crlf(std::string_view text);

}  // namespace sesame::mime
