// DKIM signing, RFC 6376 §5 (rsa-sha256, relaxed/relaxed), and verification of a
// signature against a known public key (§6, without the DNS lookup: the caller supplies
// the key record). The Signer is the only code that uses private keys; it loads them
// through KeyStore and caches them.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "mailauth/dkim/key_store.hpp"

namespace sesame::mailauth::dkim {

struct SignOptions {
  std::string domain;    // d=
  std::string selector;  // s=
  base::EpochSeconds now = 0;  // t=
  /// Header names to sign when present (RFC 6376 §5.4.1); From is also over-signed so a
  /// second From cannot be added after signing.
  std::vector<std::string> headers = {"from",       "to",          "cc",        "subject",          "date",
                                      "message-id", "reply-to",    "references", "in-reply-to",     "mime-version",
                                      "content-type", "content-transfer-encoding", "list-unsubscribe",
                                      "list-unsubscribe-post", "feedback-id"};
};

class Signer {
 public:
  explicit Signer(const KeyStore& keys) : keys_(keys) {}
  /// The DKIM-Signature header field, folded, ending in CRLF, to put first in `message`.
  base::Result<std::string> sign(std::string_view message, const KeyRef& key, const SignOptions& options);

 private:
  base::Result<std::shared_ptr<const PrivateKey>> key_for(const KeyRef& key);
  const KeyStore& keys_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const PrivateKey>> cache_;
};

enum class VerifyResult { kPass, kFail, kPermError };  // RFC 6376 §6.1 outcome words

/// Verifies the first DKIM-Signature of `message` with `public_key_b64` (the p= value).
/// `reason` says why on fail/permerror.
VerifyResult verify_with_key(std::string_view message, const std::string& public_key_b64, std::string* reason);

/// Parses a DKIM tag list (§3.2) into tag -> value (whitespace removed around tags and, for
/// b= and bh=, inside values). false on a malformed list or a duplicate tag.
bool parse_tag_list(std::string_view text, std::map<std::string, std::string>& out);

}  // namespace sesame::mailauth::dkim
