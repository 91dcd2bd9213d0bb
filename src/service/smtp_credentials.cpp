// SES SMTP password derivation; see smtp_credentials.hpp.
#include "service/smtp_credentials.hpp"

#include <openssl/crypto.h>

#include "base/encoding.hpp"

namespace sesame::service {
namespace {
std::string derive(std::string_view secret, std::string_view region) {
  std::string k = base::hmac_sha256("AWS4" + std::string(secret), "11111111");
  k = base::hmac_sha256(k, region);
  k = base::hmac_sha256(k, "ses");
  k = base::hmac_sha256(k, "aws4_request");
  k = base::hmac_sha256(k, "SendRawEmail");
  return std::string(1, '\x04') + k;
}
}  // namespace

std::string smtp_password(std::string_view secret, std::string_view region) {
  return base::base64_encode(derive(secret, region));
}

SmtpPasswordCheck check_smtp_password(std::string_view secret, std::string_view region, std::string_view password) {
  auto given = base::base64_decode(password);
  if (!given || given->size() != 33) return SmtpPasswordCheck::kMismatch;
  if ((*given)[0] == '\x02') return SmtpPasswordCheck::kLegacyV2;
  const std::string want = derive(secret, region);
  return CRYPTO_memcmp(want.data(), given->data(), want.size()) == 0 ? SmtpPasswordCheck::kMatch : SmtpPasswordCheck::kMismatch;
}

}  // namespace sesame::service
