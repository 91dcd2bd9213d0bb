// Byte encodings used on the wire: hex, base64, percent-encoding (RFC 3986), and the
// digests SigV4 and DKIM need (SHA-256, HMAC-SHA256). No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sesame::base {

std::string hex_lower(std::string_view bytes);
/// The parts of `s` between `sep` characters (n separators: n + 1 parts, empty ones kept).
std::vector<std::string> split(std::string_view s, char sep);
std::string base64_encode(std::string_view bytes);
/// Strict RFC 4648 decoding (padding optional, whitespace refused); nullopt on bad input.
std::optional<std::string> base64_decode(std::string_view text);

/// Percent-decodes; `plus_is_space` for application/x-www-form-urlencoded. nullopt on a
/// truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);
/// Percent-encodes every byte except A-Z a-z 0-9 - _ . ~ (and '/' when keep_slash).
std::string percent_encode(std::string_view bytes, bool keep_slash = false);

std::string sha256(std::string_view bytes);  // raw 32 bytes
std::string hmac_sha256(std::string_view key, std::string_view msg);  // raw 32 bytes
/// Constant-time equality for secrets and signatures.
bool constant_time_equal(std::string_view a, std::string_view b);
/// True when no byte has its top bit set (7-bit text).
bool is_ascii(std::string_view s);
/// Cryptographically random bytes (OpenSSL RAND_bytes); aborts if the RNG fails.
std::string random_bytes(std::size_t n);

/// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode Table 3-7: no overlong
/// forms, surrogates or code points above U+10FFFF; ASCII is 1), or 0 when none starts there.
/// Then `prefix`, when given, gets how many bytes from s[i] the ill-formed attempt spans (at
/// least 1: the lead byte and the continuation bytes that were still possible), which a
/// decoder replacing errors with U+FFFD skips before reading on.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::size_t* prefix = nullptr);

std::string to_lower_ascii(std::string_view s);
std::string to_upper_ascii(std::string_view s);
std::string_view trim(std::string_view s);

}  // namespace sesame::base
