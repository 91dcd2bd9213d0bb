// SigV4 verification and signing; see sigv4.hpp and reference §3.2-3.5.
#include "api/sigv4.hpp"

#include <algorithm>
#include <cmath>

#include "base/encoding.hpp"

namespace sesame::api {
namespace {
using base::hex_lower;
using base::hmac_sha256;
using base::sha256;
constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    std::size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s = s.substr(p + 1);
  }
  return out;
}

std::string collapse_spaces(std::string_view v) {
  v = base::trim(v);
  std::string out;
  out.reserve(v.size());
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

/// AWS region names: "us-east-1", "us-gov-west-1", "ap-southeast-2", "cn-north-1".
/// Regions become tenancy partitions and file names, so nothing else gets through.
bool valid_region(std::string_view r) {
  if (r.size() < 4 || r.size() > 32) return false;
  std::size_t dashes = 0;
  for (char c : r) {
    if (c == '-') ++dashes;
    else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return dashes >= 2 && r.front() != '-' && r.back() >= '0' && r.back() <= '9' && r.find("--") == std::string_view::npos;
}

bool lower_hex(std::string_view s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}
}  // namespace

std::optional<AuthorizationHeader> parse_authorization(std::string_view h) {
  h = base::trim(h);
  if (h.substr(0, kAlgorithm.size()) != kAlgorithm) return std::nullopt;
  h.remove_prefix(kAlgorithm.size());
  if (h.empty() || (h.front() != ' ')) return std::nullopt;
  AuthorizationHeader out;
  bool have_cred = false, have_signed = false, have_sig = false;
  for (auto part : split(h, ',')) {
    part = base::trim(part);
    std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view k = part.substr(0, eq), v = part.substr(eq + 1);
    if (k == "Credential") {
      auto c = split(v, '/');
      if (c.size() != 5) return std::nullopt;
      out.access_key_id = std::string(c[0]);
      out.date = std::string(c[1]);
      out.region = std::string(c[2]);
      out.service = std::string(c[3]);
      out.terminal = std::string(c[4]);
      if (out.access_key_id.empty() || out.date.size() != 8 || out.region.empty()) return std::nullopt;
      have_cred = true;
    } else if (k == "SignedHeaders") {
      for (auto n : split(v, ';')) {
        if (n.empty()) return std::nullopt;
        out.signed_headers.emplace_back(base::to_lower_ascii(n));
      }
      have_signed = true;
    } else if (k == "Signature") {
      out.signature = std::string(v);
      have_sig = true;
    } else {
      return std::nullopt;
    }
  }
  if (!have_cred || !have_signed || !have_sig) return std::nullopt;
  return out;
}

std::string canonical_uri(std::string_view raw_path) {
  // botocore normalizes (drops empty and "." segments, resolves ".."), then encodes again.
  std::vector<std::string_view> segs;
  for (auto s : split(raw_path, '/')) {
    if (s.empty() || s == ".") continue;
    if (s == "..") {
      if (!segs.empty()) segs.pop_back();
      continue;
    }
    segs.push_back(s);
  }
  std::string path = "/";
  for (std::size_t i = 0; i < segs.size(); ++i) {
    if (i) path += "/";
    path += segs[i];
  }
  if (!segs.empty() && raw_path.size() > 1 && raw_path.back() == '/') path += "/";
  return base::percent_encode(path, true);
}

std::string canonical_query(std::string_view raw_query) {
  if (raw_query.empty()) return {};
  std::vector<std::pair<std::string, std::string>> items;
  for (auto item : split(raw_query, '&')) {
    if (item.empty()) continue;
    std::size_t eq = item.find('=');
    auto k = base::percent_decode(item.substr(0, eq), false);
    auto v = eq == std::string_view::npos ? std::optional<std::string>("")
                                          : base::percent_decode(item.substr(eq + 1), false);
    items.emplace_back(base::percent_encode(k ? *k : std::string(item.substr(0, eq))),
                       base::percent_encode(v ? *v : std::string()));
  }
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& [k, v] : items) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string canonical_request(const base::HttpRequest& req, const std::vector<std::string>& signed_headers,
                              std::string_view payload_hash) {
  std::string_view target = req.target;
  std::size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  std::string out = req.method + "\n" + canonical_uri(path) + "\n" + canonical_query(query) + "\n";
  for (const auto& name : signed_headers) {
    std::string joined;
    bool first = true;
    for (auto v : req.header_values(name)) {
      if (!first) joined += ',';
      joined += collapse_spaces(v);
      first = false;
    }
    out += name + ":" + joined + "\n";
  }
  out += "\n";
  for (std::size_t i = 0; i < signed_headers.size(); ++i) out += (i ? ";" : "") + signed_headers[i];
  out += "\n";
  out += payload_hash;
  return out;
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  std::string k = hmac_sha256("AWS4" + std::string(secret), date);
  k = hmac_sha256(k, region);
  k = hmac_sha256(k, service);
  return hmac_sha256(k, "aws4_request");
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical) {
  return std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         hex_lower(sha256(canonical));
}

Verifier::Verifier(KeyLookup lookup, const base::Clock& clock, std::string service, double max_skew_seconds)
    : lookup_(std::move(lookup)), clock_(clock), service_(std::move(service)), max_skew_(max_skew_seconds) {}

std::string Verifier::cached_signing_key(const std::string& akid, const std::string& secret,
                                         const std::string& date, const std::string& region) {
  std::string cache_key = akid + "/" + date + "/" + region + "/" + hex_lower(sha256(secret));
  std::lock_guard lk(mu_);
  auto it = key_cache_.find(cache_key);
  if (it != key_cache_.end()) return it->second;
  if (key_cache_.size() > 4096) key_cache_.clear();  // bounded; dates roll daily
  std::string k = signing_key(secret, date, region, service_);
  key_cache_.emplace(cache_key, k);
  return k;
}

base::Result<bool> Verifier::precheck(const base::HttpRequest& req, AuthRejection* rej) {
  std::string_view auth = req.header("Authorization");
  if (auth.empty()) {
    *rej = AuthRejection{AuthFailure::kMissing, "Request is missing Authentication Token"};
    return false;
  }
  auto parsed = parse_authorization(auth);
  if (!parsed) {
    *rej = AuthRejection{AuthFailure::kIncomplete,
                         "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters "
                         "with the AWS4-HMAC-SHA256 algorithm."};
    return false;
  }
  if (!valid_region(parsed->region)) {
    *rej = AuthRejection{AuthFailure::kBadRegion, "Credential should be scoped to a valid region, not '" + parsed->region + "'. "};
    return false;
  }
  auto key = lookup_(parsed->access_key_id);
  if (!key.ok()) return key.error();
  if (!key.value()) {
    *rej = AuthRejection{AuthFailure::kUnknownKey, "The security token included in the request is invalid."};
    return false;
  }
  return true;
}

base::Result<std::optional<Principal>> Verifier::verify(const base::HttpRequest& req, AuthRejection* rej) {
  auto reject = [&](AuthFailure f, std::string msg) -> base::Result<std::optional<Principal>> {
    *rej = AuthRejection{f, std::move(msg)};
    return std::optional<Principal>();
  };
  std::string_view auth = req.header("Authorization");
  if (auth.empty()) return reject(AuthFailure::kMissing, "Request is missing Authentication Token");
  auto parsed = parse_authorization(auth);
  if (!parsed) {
    return reject(AuthFailure::kIncomplete,
                  "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters "
                  "with the AWS4-HMAC-SHA256 algorithm.");
  }
  if (!valid_region(parsed->region))
    return reject(AuthFailure::kBadRegion, "Credential should be scoped to a valid region, not '" + parsed->region + "'. ");
  auto key = lookup_(parsed->access_key_id);
  if (!key.ok()) return key.error();
  if (!key.value()) return reject(AuthFailure::kUnknownKey, "The security token included in the request is invalid.");

  std::string amz_date(req.header("X-Amz-Date"));
  std::optional<base::EpochSeconds> when;
  if (!amz_date.empty()) {
    when = base::parse_amz_date(amz_date);
  } else if (auto d = req.header("Date"); !d.empty()) {
    when = base::parse_http_date(d);
    if (when) amz_date = base::format_amz_date(*when);
  }
  if (!when) return reject(AuthFailure::kIncomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  if (amz_date.substr(0, 8) != parsed->date || parsed->terminal != "aws4_request")
    return reject(AuthFailure::kIncomplete, "Credential should be scoped to a valid date and terminated by 'aws4_request'.");
  if (parsed->service != service_)
    return reject(AuthFailure::kWrongService, "Credential should be scoped to correct service: '" + service_ + "'. ");
  double now = clock_.now();
  if (*when < now - max_skew_) {
    return reject(AuthFailure::kExpired, "Signature expired: " + amz_date + " is now earlier than " +
                                             base::format_amz_date(now - max_skew_) + " (" +
                                             base::format_amz_date(now) + " - 5 min.)");
  }
  if (*when > now + max_skew_) {
    return reject(AuthFailure::kNotYetCurrent, "Signature not yet current: " + amz_date + " is still later than " +
                                                   base::format_amz_date(now + max_skew_) + " (" +
                                                   base::format_amz_date(now) + " + 5 min.)");
  }
  std::string body_hash = hex_lower(sha256(req.body));
  std::string payload_hash = body_hash;
  if (auto h = req.header("X-Amz-Content-Sha256"); !h.empty()) payload_hash = std::string(h);

  // A signed header that is absent would make every client-side signature differ anyway;
  // the signature comparison below covers it.
  std::string canonical = canonical_request(req, parsed->signed_headers, payload_hash);
  std::string scope = parsed->date + "/" + parsed->region + "/" + parsed->service + "/aws4_request";
  std::string sts = string_to_sign(amz_date, scope, canonical);
  std::string k = cached_signing_key(parsed->access_key_id, key.value()->secret, parsed->date, parsed->region);
  std::string expected = hex_lower(hmac_sha256(k, sts));
  if (!lower_hex(parsed->signature, 64) || !base::constant_time_equal(expected, parsed->signature)) {
    return reject(AuthFailure::kBadSignature,
                  "The request signature we calculated does not match the signature you provided. Check your "
                  "AWS Secret Access Key and signing method. Consult the service documentation for details.");
  }
  if (payload_hash != body_hash)
    return reject(AuthFailure::kPayloadMismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.");
  bool has_host = std::find(parsed->signed_headers.begin(), parsed->signed_headers.end(), "host") !=
                  parsed->signed_headers.end();
  if (!has_host) return reject(AuthFailure::kIncomplete, "'Host' must be a signed header.");
  return std::optional<Principal>(Principal{parsed->access_key_id, key.value()->account_id, parsed->region});
}

void sign_request(base::HttpRequest& req, std::string_view akid, std::string_view secret, std::string_view region,
                  std::string_view service, base::EpochSeconds now) {
  std::string amz_date = base::format_amz_date(now);
  req.headers.emplace_back("X-Amz-Date", amz_date);
  std::vector<std::string> signed_headers;
  if (!req.header("Content-Type").empty()) signed_headers.emplace_back("content-type");
  signed_headers.emplace_back("host");
  signed_headers.emplace_back("x-amz-date");
  std::string canonical = canonical_request(req, signed_headers, hex_lower(sha256(req.body)));
  std::string date = amz_date.substr(0, 8);
  std::string scope = date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  std::string sig = hex_lower(hmac_sha256(signing_key(secret, date, region, service), string_to_sign(amz_date, scope, canonical)));
  std::string sh;
  for (std::size_t i = 0; i < signed_headers.size(); ++i) sh += (i ? ";" : "") + signed_headers[i];
  req.headers.emplace_back("Authorization", std::string(kAlgorithm) + " Credential=" + std::string(akid) + "/" + scope +
                                                ", SignedHeaders=" + sh + ", Signature=" + sig);
}

}  // namespace sesame::api
