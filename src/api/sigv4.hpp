// AWS Signature Version 4, server side (reference §3): parse the Authorization header,
// rebuild the canonical request exactly as botocore and the JS SDK sign it (double-encoded
// path, sorted query, signed headers as received), and compare in constant time.
// Also a signer, used by benchmarks and tests to act as a client.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/http_message.hpp"
#include "base/result.hpp"

namespace sesame::api {

struct AuthorizationHeader {
  std::string access_key_id;
  std::string date;      // YYYYMMDD of the scope
  std::string region;
  std::string service;
  std::string terminal;  // "aws4_request"
  std::vector<std::string> signed_headers;
  std::string signature;  // lowercase hex
};

/// Parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...", tolerant of
/// separators and component order. nullopt when incomplete or malformed.
std::optional<AuthorizationHeader> parse_authorization(std::string_view header);

std::string canonical_uri(std::string_view raw_path);
std::string canonical_query(std::string_view raw_query);
std::string canonical_request(const base::HttpRequest& request, const std::vector<std::string>& signed_headers,
                              std::string_view payload_hash);
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);
std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical);

enum class AuthFailure {
  kMissing,          // no Authorization header
  kIncomplete,       // malformed header / scope
  kUnknownKey,       // access key id not known
  kExpired,          // timestamp too old
  kNotYetCurrent,    // timestamp in the future
  kWrongService,     // scope service is not "ses"
  kBadRegion,        // scope region is not an AWS region name
  kBadSignature,
  kPayloadMismatch,  // x-amz-content-sha256 differs from the body
};

struct AuthRejection {
  AuthFailure failure;
  std::string message;
};

struct Principal {
  std::string access_key_id;
  std::string account_id;
  std::string region;
};

struct KeyRecord {
  std::string secret;
  std::string account_id;
};

/// Looks up an access key; nullopt = unknown; an Error = could not tell.
using KeyLookup = std::function<base::Result<std::optional<KeyRecord>>(const std::string& access_key_id)>;

class Verifier {
 public:
  Verifier(KeyLookup lookup, const base::Clock& clock, std::string service = "ses", double max_skew_seconds = 300);
  /// Either the principal, or a rejection (held in `rejection`), or an Error when the key
  /// store could not be read.
  base::Result<std::optional<Principal>> verify(const base::HttpRequest& request, AuthRejection* rejection);
  /// The checks that need no body (header present and well-formed, key known, region
  /// valid): true when the request may be read on; else `rejection` says why.
  base::Result<bool> precheck(const base::HttpRequest& head, AuthRejection* rejection);

 private:
  std::string cached_signing_key(const std::string& akid, const std::string& secret, const std::string& date,
                                 const std::string& region);
  KeyLookup lookup_;
  const base::Clock& clock_;
  std::string service_;
  double max_skew_;
  std::mutex mu_;
  std::map<std::string, std::string> key_cache_;  // akid/date/region/secret-hash -> kSigning
};

/// Adds X-Amz-Date and Authorization (signing host, x-amz-date and content-type when
/// present). `request.headers` must already hold Host.
void sign_request(base::HttpRequest& request, std::string_view access_key_id, std::string_view secret,
                  std::string_view region, std::string_view service, base::EpochSeconds now);

}  // namespace sesame::api
