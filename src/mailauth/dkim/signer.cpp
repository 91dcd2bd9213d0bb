// DKIM signing and key-given verification; see signer.hpp. RFC 6376 sections cited inline.
#include "mailauth/dkim/signer.hpp"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

#include "base/encoding.hpp"
#include "base/log.hpp"
#include "mailauth/dkim/canonicalize.hpp"
#include "mailauth/dkim/private_key.hpp"
#include "mailauth/dkim/rsa_multiprime.hpp"

namespace sesame::mailauth::dkim {
namespace {
using base::ErrorCode;

/// Signing contexts (RSASSA-PKCS1-v1_5, SHA-256) set up once per thread and key and used
/// for every signature after: a fresh EVP_DigestSignInit per message costs OpenSSL's
/// method lookups and allocations each time. A 3-prime RSA-2048 key (what Easy DKIM
/// generates) also gets the AVX-512 IFMA signer where the CPU has it (rsa_multiprime.hpp),
/// with OpenSSL's context as its fallback.
class SignContexts {
 public:
  struct Entry {
    std::shared_ptr<const PrivateKey> key;  // kept alive while its context is
    EVP_PKEY_CTX* ctx;
    std::unique_ptr<MultiPrimeSigner> fast;
  };
  ~SignContexts() {
    for (auto& e : entries_) EVP_PKEY_CTX_free(e.ctx);
  }
  Entry* get(const std::shared_ptr<const PrivateKey>& key) {
    for (auto& e : entries_)
      if (e.key == key) return &e;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key->get(), nullptr);
    if (!ctx || EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1) {
      EVP_PKEY_CTX_free(ctx);
      return nullptr;
    }
    if (entries_.size() >= 16) {  // a few domains per thread at a time; the oldest goes
      EVP_PKEY_CTX_free(entries_.front().ctx);
      entries_.erase(entries_.begin());
    }
    entries_.push_back({key, ctx, MultiPrimeSigner::make(key->get())});
    return &entries_.back();
  }

 private:
  std::vector<Entry> entries_;
};

/// RSASSA-PKCS1-v1_5 over a SHA-256 digest: the IFMA signer when the key has one, else
/// OpenSSL's. A failure of the IFMA signer (its check caught a wrong signature) turns it off
/// in the whole process.
base::Result<std::string> rsa_sign(SignContexts::Entry* entry, const std::string& digest) {
  if (!entry) return base::make_error(ErrorCode::kInternal, "DKIM signing failed");
  if (entry->fast && MultiPrimeSigner::enabled()) {
    std::string sig = entry->fast->sign_sha256(digest);
    if (!sig.empty()) return sig;
    base::log().error("DKIM: an AVX-512 IFMA RSA signature failed its check; OpenSSL signs from now on, until restart");
    MultiPrimeSigner::disable();
  }
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(digest.data());
  if (EVP_PKEY_sign(entry->ctx, nullptr, &len, in, digest.size()) != 1)
    return base::make_error(ErrorCode::kInternal, "DKIM signing failed");
  std::string sig(len, '\0');
  if (EVP_PKEY_sign(entry->ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, digest.size()) != 1)
    return base::make_error(ErrorCode::kInternal, "DKIM signing failed");
  sig.resize(len);
  return sig;
}

bool wsp_or_fold(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_all(std::string_view s) {
  while (!s.empty() && wsp_or_fold(s.front())) s.remove_prefix(1);
  while (!s.empty() && wsp_or_fold(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

/// §5.4.2: for each name in h=, the last instance not yet used, bottom-up; a name with no
/// instance left (over-signing) contributes nothing.
std::string signed_headers_data(const std::vector<HeaderField>& fields, const std::vector<std::string>& names,
                                 bool relaxed) {
  std::vector<bool> used(fields.size(), false);
  std::string out;
  for (const auto& name : names) {
    for (std::size_t i = fields.size(); i-- > 0;) {
      if (used[i] || !iequals(trim_all(fields[i].name), name)) continue;
      used[i] = true;
      out += relaxed ? relaxed_header(fields[i].name, fields[i].raw_value)
                     : fields[i].name + ":" + fields[i].raw_value + "\r\n";
      break;
    }
  }
  return out;
}

/// Folds a long tag value (b=) into 72-character pieces; folding whitespace inside b= is
/// ignored by verifiers (§3.5, "b=" value: FWS is allowed and removed).
std::string fold(std::string_view value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); i += 72) {
    if (i) out += "\r\n\t ";
    out.append(value.substr(i, 72));
  }
  return out;
}

/// The DKIM-Signature raw value with the b= tag's value removed (§3.5: "b=" is treated as
/// empty when computing the signature). Finds the tag "b" exactly, not "bh".
std::string without_b_value(std::string_view raw) {
  std::size_t pos = 0;
  while (pos <= raw.size()) {
    std::size_t semi = raw.find(';', pos);
    std::size_t end = semi == std::string_view::npos ? raw.size() : semi;
    std::string_view item = raw.substr(pos, end - pos);
    std::size_t eq = item.find('=');
    if (eq != std::string_view::npos && trim_all(item.substr(0, eq)) == "b") {
      return std::string(raw.substr(0, pos + eq + 1)) + std::string(raw.substr(end));
    }
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  return std::string(raw);
}
}  // namespace

bool parse_tag_list(std::string_view text, std::map<std::string, std::string>& out) {
  out.clear();
  if (text.size() > 65536) return false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t semi = text.find(';', pos);
    std::string_view item = text.substr(pos, (semi == std::string_view::npos ? text.size() : semi) - pos);
    pos = semi == std::string_view::npos ? text.size() + 1 : semi + 1;
    if (trim_all(item).empty()) {
      if (semi == std::string_view::npos) break;  // a trailing ';' is allowed (§3.2)
      return false;
    }
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return false;
    std::string tag(trim_all(item.substr(0, eq)));
    if (tag.empty() || !std::isalpha(static_cast<unsigned char>(tag[0]))) return false;
    for (char c : tag)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    std::string value(trim_all(item.substr(eq + 1)));
    if (tag == "b" || tag == "bh") {
      std::string compact;
      for (char c : value)
        if (!wsp_or_fold(c)) compact.push_back(c);
      value = compact;
    }
    if (!out.emplace(tag, value).second) return false;  // duplicate tags are an error (§3.2)
  }
  return true;
}

base::Result<std::shared_ptr<const PrivateKey>> Signer::key_for(const KeyRef& key) {
  std::string id = key.account + "/" + key.region + "/" + key.domain + "/" + key.key_id;
  {
    std::lock_guard lk(mu_);
    auto it = cache_.find(id);
    if (it != cache_.end()) return it->second;
  }
  SESAME_ASSIGN(auto loaded, keys_.load(key));
  std::lock_guard lk(mu_);
  if (cache_.size() > 10000) cache_.clear();
  cache_[id] = loaded;
  return loaded;
}

base::Result<std::string> Signer::sign(std::string_view message, const KeyRef& key, const SignOptions& o) {
  SESAME_ASSIGN(auto pkey, key_for(key));
  std::vector<HeaderField> fields;
  std::string_view body;
  split_message(message, fields, body);

  // h=: every listed header present, as often as it occurs, plus one more From (over-signing).
  std::vector<std::string> names;
  for (const auto& n : o.headers) {
    std::size_t count = 0;
    for (const auto& f : fields) count += iequals(trim_all(f.name), n) ? 1 : 0;
    for (std::size_t i = 0; i < count; ++i) names.push_back(n);
    if (n == "from") names.push_back(n);
  }
  std::string h;
  for (std::size_t i = 0; i < names.size(); ++i) h += (i ? ":" : "") + names[i];

  const std::string bh = base::base64_encode(base::sha256(relaxed_body(body)));
  std::string value = " v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + o.domain + "; s=" + o.selector +
                      ";\r\n\tt=" + std::to_string(static_cast<long long>(o.now)) + "; bh=" + bh + ";\r\n\th=" + h +
                      ";\r\n\tb=";
  std::string data = signed_headers_data(fields, names, true);
  std::string own = relaxed_header("DKIM-Signature", value);
  data += own.substr(0, own.size() - 2);  // the signature's own field, without its CRLF (§3.7)

  thread_local SignContexts contexts;
  SESAME_ASSIGN(auto sig, rsa_sign(contexts.get(pkey), base::sha256(data)));
  return "DKIM-Signature:" + value + fold(base::base64_encode(sig)) + "\r\n";
}

VerifyResult verify_with_key(std::string_view message, const std::string& public_key_b64, std::string* reason) {
  auto fail = [&](VerifyResult r, const char* why) {
    if (reason) *reason = why;
    return r;
  };
  std::vector<HeaderField> fields;
  std::string_view body;
  split_message(message, fields, body);
  const HeaderField* sig_field = nullptr;
  for (const auto& f : fields)
    if (iequals(trim_all(f.name), "dkim-signature")) {
      sig_field = &f;
      break;
    }
  if (!sig_field) return fail(VerifyResult::kPermError, "no DKIM-Signature");
  std::map<std::string, std::string> tags;
  if (!parse_tag_list(sig_field->raw_value, tags)) return fail(VerifyResult::kPermError, "malformed tag list");
  for (const char* t : {"v", "a", "b", "bh", "d", "h", "s"})
    if (!tags.count(t)) return fail(VerifyResult::kPermError, "missing required tag");
  if (tags["v"] != "1" || tags["a"] != "rsa-sha256") return fail(VerifyResult::kPermError, "unsupported version or algorithm");
  if (tags.count("l")) return fail(VerifyResult::kPermError, "l= is not supported");
  std::string c = tags.count("c") ? tags["c"] : "simple/simple";
  std::string hc = c.substr(0, c.find('/')), bc = c.find('/') == std::string::npos ? "simple" : c.substr(c.find('/') + 1);
  if ((hc != "simple" && hc != "relaxed") || (bc != "simple" && bc != "relaxed"))
    return fail(VerifyResult::kPermError, "unknown canonicalization");

  std::string body_canon = bc == "relaxed" ? relaxed_body(body) : simple_body(body);
  if (base::base64_encode(base::sha256(body_canon)) != tags["bh"]) return fail(VerifyResult::kFail, "body hash mismatch");

  std::vector<std::string> names;
  std::string_view hlist = tags["h"];
  while (!hlist.empty()) {
    std::size_t colon = hlist.find(':');
    names.emplace_back(base::to_lower_ascii(trim_all(hlist.substr(0, colon))));
    hlist = colon == std::string_view::npos ? std::string_view() : hlist.substr(colon + 1);
  }
  bool from_signed = false;
  for (const auto& n : names) from_signed = from_signed || n == "from";
  if (!from_signed) return fail(VerifyResult::kPermError, "From is not signed");
  std::string data = signed_headers_data(fields, names, hc == "relaxed");
  std::string stripped = without_b_value(sig_field->raw_value);
  if (hc == "relaxed") {
    std::string own = relaxed_header(sig_field->name, stripped);
    data += own.substr(0, own.size() - 2);
  } else {
    data += sig_field->name + ":" + stripped;
  }

  auto der = base::base64_decode(public_key_b64);
  auto sig = base::base64_decode(tags["b"]);
  if (!der || !sig) return fail(VerifyResult::kPermError, "bad base64");
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pub(d2i_PUBKEY(nullptr, &p, long(der->size())), &EVP_PKEY_free);
  if (!pub) return fail(VerifyResult::kPermError, "bad public key");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pub.get()) != 1)
    return fail(VerifyResult::kPermError, "cannot verify");
  int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size());
  if (ok != 1) return fail(VerifyResult::kFail, "signature mismatch");
  return VerifyResult::kPass;
}

}  // namespace sesame::mailauth::dkim
