// Identifiers Sesame hands out: request ids (UUID v4), account ids (12 digits), access key
// ids and secrets in AWS's shapes, and opaque tokens.
#pragma once

#include <string>
#include <string_view>

namespace sesame::base {

std::string uuid_v4();
std::string account_id();        // 12 decimal digits, first not 0
std::string access_key_id();     // "AKIA" + 16 of [A-Z2-7]
std::string secret_access_key(); // 40 characters of base64 alphabet
/// Lowercase base32-like token of n characters (DKIM selectors, verification tokens).
std::string token(std::size_t n);
/// An SES message id (reference §5): 4 hex of region prefix, 12 hex of the acceptance time
/// in Unix milliseconds, a UUID, "-000000". 60 characters of lowercase hex and dashes.
std::string ses_message_id(double epoch_seconds, std::string_view prefix = "0100");

}  // namespace sesame::base
