// Identifiers Sesame hands out: request ids (UUID v4), account ids (12 digits), access key
// ids and secrets in AWS's shapes, and opaque tokens.
#pragma once

#include <string>

namespace sesame::base {

std::string uuid_v4();
std::string account_id();        // 12 decimal digits, first not 0
std::string access_key_id();     // "AKIA" + 16 of [A-Z2-7]
std::string secret_access_key(); // 40 characters of base64 alphabet
/// Lowercase base32-like token of n characters (DKIM selectors, verification tokens).
std::string token(std::size_t n);

}  // namespace sesame::base
