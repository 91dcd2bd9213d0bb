// SES SMTP credentials (reference §4.1): the username is the access key id; the password
// is derived from the secret access key and the region of the SMTP endpoint (version 4:
// an HMAC-SHA256 chain ending in "SendRawEmail", prefixed with the byte 0x04, base64).
#pragma once

#include <string>
#include <string_view>

namespace sesame::service {

/// The SES SMTP password for `secret` in `region` (44 base64 characters, starting "B").
std::string smtp_password(std::string_view secret, std::string_view region);

enum class SmtpPasswordCheck { kMatch, kMismatch, kLegacyV2 };

/// Compares in constant time. A version-2 password (deprecated by SES in 2021) is
/// recognised so that it can be refused with SES's explanation.
SmtpPasswordCheck check_smtp_password(std::string_view secret, std::string_view region, std::string_view password);

}  // namespace sesame::service
