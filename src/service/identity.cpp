// Identity semantics shared by both API versions; see identity.hpp.
// DNS conventions (SES Developer Guide, "Verifying a domain" and "Easy DKIM"):
//  - v1 domain verification: TXT "_amazonses.<domain>" containing the verification token;
//  - DKIM: for each selector token, "<token>._domainkey.<domain>" must yield a DKIM key
//    record (RFC 6376 §3.6.1) whose p= is our public key; CNAME chains are followed by the
//    recursive server, so a CNAME to such a TXT works too.
#include "service/identity.hpp"

#include "base/encoding.hpp"
#include "base/ids.hpp"
#include "base/log.hpp"

namespace sesame::service::identity {
namespace {
using base::ErrorCode;

bool valid_label(std::string_view l) {
  if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
  for (char c : l)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

bool valid_domain(const std::string& d) {
  if (d.empty() || d.size() > 253 || d.find('.') == std::string::npos) return false;
  std::size_t start = 0;
  while (start <= d.size()) {
    std::size_t dot = d.find('.', start);
    std::string_view label(d.data() + start, (dot == std::string::npos ? d.size() : dot) - start);
    if (!valid_label(label)) return false;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

/// The p= tag of a DKIM key record (whitespace inside the value is ignored, RFC 6376 §3.6.1).
std::string dkim_p(const std::string& record) {
  std::size_t pos = 0;
  while (pos < record.size()) {
    std::size_t semi = record.find(';', pos);
    std::string_view tag(record.data() + pos, (semi == std::string::npos ? record.size() : semi) - pos);
    tag = base::trim(tag);
    std::size_t eq = tag.find('=');
    if (eq != std::string_view::npos && base::trim(tag.substr(0, eq)) == "p") {
      std::string out;
      for (char c : tag.substr(eq + 1))
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out.push_back(c);
      return out;
    }
    if (semi == std::string::npos) break;
    pos = semi + 1;
  }
  return {};
}

std::vector<std::string> selectors(const json& dkim) {
  std::vector<std::string> out;
  if (dkim.value("origin", "") == "EXTERNAL") {
    if (dkim.contains("selector")) out.push_back(dkim["selector"].get<std::string>());
  } else if (dkim.contains("tokens")) {
    for (const auto& t : dkim["tokens"]) out.push_back(t.get<std::string>());
  }
  return out;
}

/// One status from a check: found / not found within the window / failed / temporary.
std::string status_after(dns::Outcome outcome, bool matched, double created, double now, double window) {
  if (outcome == dns::Outcome::kTempFail) return "TEMPORARY_FAILURE";
  if (matched) return "SUCCESS";
  return now - created > window ? "FAILED" : "PENDING";
}
}  // namespace

bool is_email(const std::string& identity) { return identity.find('@') != std::string::npos; }

std::string domain_of(const std::string& identity) {
  std::size_t at = identity.rfind('@');
  return at == std::string::npos ? identity : identity.substr(at + 1);
}

base::Result<std::string> normalize(const std::string& raw) {
  std::string s(base::trim(raw));
  if (s.size() > 320) return base::make_error(ErrorCode::kInvalidParameter, "Identity is too long.");
  std::size_t at = s.rfind('@');
  if (at != std::string::npos) {
    std::string local = s.substr(0, at);
    std::string domain = base::to_lower_ascii(s.substr(at + 1));
    if (!domain.empty() && domain.back() == '.') domain.pop_back();
    if (local.empty() || local.size() > 64 || local.find_first_of(" \t\r\n<>(),;:\"[]\\") != std::string::npos)
      return base::make_error(ErrorCode::kInvalidParameter, "Invalid email address <" + s + ">.");
    if (!valid_domain(domain)) return base::make_error(ErrorCode::kInvalidParameter, "Invalid email address <" + s + ">.");
    return local + "@" + domain;
  }
  std::string domain = base::to_lower_ascii(s);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (!valid_domain(domain)) return base::make_error(ErrorCode::kInvalidParameter, "Invalid domain name <" + s + ">.");
  return domain;
}

json new_document(bool is_domain, double now) {
  return json{{"type", is_domain ? "DOMAIN" : "EMAIL_ADDRESS"},
              {"created", now},
              {"verification", json{{"status", "PENDING"}}},
              {"feedback_forwarding", true},
              {"topics", json::object()},
              {"headers_in", json::object()},
              {"policies", json::object()},
              {"tags", json::array()}};
}

base::Status setup_easy_dkim(Services& s, const Caller& c, const std::string& domain, json& doc, int bits) {
  std::vector<std::string> tokens{base::token(32), base::token(32), base::token(32)};
  SESAME_ASSIGN(auto pub, s.dkim_keys.generate(c.account_id, c.region, domain, tokens[0], bits));
  double now = s.clock.now();
  std::string length = bits == 1024 ? "RSA_1024_BIT" : "RSA_2048_BIT";
  doc["dkim"] = json{{"origin", "AWS_SES"},
                     {"signing_enabled", true},
                     {"tokens", tokens},
                     {"key_id", tokens[0]},
                     {"public_key", pub},
                     {"status", "PENDING"},
                     {"started", now},
                     {"current_key_length", length},
                     {"next_key_length", length},
                     {"last_key_generation", now}};
  return base::ok_status();
}

base::Status setup_byodkim(Services& s, const Caller& c, const std::string& domain, json& doc,
                           const std::string& selector, const std::string& private_key) {
  if (!valid_label(base::to_lower_ascii(selector)))
    return base::make_error(ErrorCode::kInvalidParameter, "Invalid DKIM selector " + selector + ".");
  // The key file is named by a fresh id, never by the selector: a retried request or a
  // rotation under the same selector must not overwrite (and then delete) a key in use.
  const std::string key_id = selector + "-" + base::token(12);
  SESAME_ASSIGN(auto pub, s.dkim_keys.import(c.account_id, c.region, domain, key_id, private_key));
  double now = s.clock.now();
  doc["dkim"] = json{{"origin", "EXTERNAL"}, {"signing_enabled", true}, {"selector", selector},
                     {"key_id", key_id},     {"public_key", pub},      {"status", "PENDING"},
                     {"started", now},       {"last_key_generation", now}};
  return base::ok_status();
}

void forget_keys(Services& s, const Caller& c, const std::string& name, const json& doc) {
  if (!doc.contains("dkim") || !doc.at("dkim").contains("key_id")) return;
  s.dkim_keys.remove(c.account_id, c.region, domain_of(name), doc.at("dkim").at("key_id").get<std::string>());
}

std::string dkim_status(const json& doc) {
  auto it = doc.find("dkim");
  if (it == doc.end()) return "NOT_STARTED";
  return it->value("status", "PENDING");
}

std::string verification_status(const json& doc) {
  const json verification = doc.value("verification", json::object());
  std::string v = verification.value("status", "PENDING");
  if (doc.value("type", "") != "DOMAIN") return v;
  // A domain is verified by its TXT token (v1) or by its DKIM records (v2): the best of
  // the mechanisms in play wins; it has failed only when every one of them failed.
  bool has_token = verification.contains("token");
  bool has_dkim = doc.contains("dkim");
  std::string d = dkim_status(doc);
  std::vector<std::string> in_play;
  if (has_token) in_play.push_back(v);
  if (has_dkim) in_play.push_back(d);
  if (doc.value("operator_verified", false)) return "SUCCESS";
  for (const char* best : {"SUCCESS", "TEMPORARY_FAILURE", "PENDING"})
    for (const auto& st : in_play)
      if (st == best) return best;
  return in_play.empty() ? "PENDING" : "FAILED";
}

bool verified_for_sending(const json& doc) { return verification_status(doc) == "SUCCESS"; }

std::string v1_status(const std::string& v2) {
  if (v2 == "SUCCESS") return "Success";
  if (v2 == "FAILED") return "Failed";
  if (v2 == "TEMPORARY_FAILURE") return "TemporaryFailure";
  if (v2 == "NOT_STARTED") return "NotStarted";
  return "Pending";
}

bool recheck(Services& s, const std::string& name, json& doc, double now) {
  // Email addresses are verified by the verification mail (or the operator); only their
  // custom MAIL FROM domain is checked here.
  bool changed = false;
  auto set_status = [&](json& section, const std::string& st) {
    changed = changed || section.value("status", "") != st;
    section["status"] = st;
  };
  const double window = s.settings.verification_window_seconds;
  json& v = doc["verification"];
  if (doc.value("type", "") == "DOMAIN" && v.contains("token") && v.value("status", "") != "SUCCESS") {
    auto ans = s.resolver.txt("_amazonses." + name);
    bool matched = false;
    for (const auto& r : ans.records) matched = matched || base::trim(r) == v["token"].get<std::string>();
    std::string st = status_after(ans.outcome, matched, v.value("started", doc.value("created", now)), now, window);
    if (ans.outcome == dns::Outcome::kTempFail) base::log().warn("DNS check of _amazonses.{} failed: {}", name, ans.error);
    v["last_checked"] = now;
    if (st == "SUCCESS") v["last_success"] = now;
    if (st == "TEMPORARY_FAILURE") v["error_type"] = "DNS_SERVER_ERROR";
    else if (st != "SUCCESS") v["error_type"] = "HOST_NOT_FOUND";
    else v.erase("error_type");
    set_status(v, st);
  }
  if (doc.contains("dkim") && doc["dkim"].value("status", "") != "SUCCESS") {
    json& d = doc["dkim"];
    std::string pub = d.value("public_key", "");
    bool all = true, temp = false;
    for (const auto& sel : selectors(d)) {
      auto ans = s.resolver.txt(sel + "._domainkey." + domain_of(name));
      if (ans.outcome == dns::Outcome::kTempFail) temp = true;
      bool matched = false;
      for (const auto& r : ans.records) matched = matched || dkim_p(r) == pub;
      all = all && matched;
    }
    std::string st = status_after(temp ? dns::Outcome::kTempFail : dns::Outcome::kFound, all,
                                  d.value("started", now), now, window);
    d["last_checked"] = now;
    set_status(d, st);
  }
  if (doc.contains("mail_from") && !doc["mail_from"].value("domain", "").empty() &&
      doc["mail_from"].value("status", "") != "SUCCESS") {
    json& m = doc["mail_from"];
    auto ans = s.resolver.mx(m["domain"].get<std::string>());
    bool matched = false;
    for (const auto& r : ans.records) {
      std::string host = base::to_lower_ascii(r.host);
      if (!host.empty() && host.back() == '.') host.pop_back();
      matched = matched || host == base::to_lower_ascii(s.settings.hostname);
    }
    set_status(m, status_after(ans.outcome, matched, m.value("started", now), now, window));
  }
  return changed;
}

base::Result<std::optional<json>> load_fresh(Documents& docs, const Caller& c, const std::string& name) {
  SESAME_ASSIGN(auto found, docs.find(c, kind::kIdentity, name));
  if (!found) return found;
  Services& s = docs.services();
  const json before = *found;
  const double now = s.clock.now();
  bool pending = verification_status(before) != "SUCCESS" || (before.contains("dkim") && dkim_status(before) != "SUCCESS") ||
                 (before.contains("mail_from") && before.at("mail_from").value("status", "SUCCESS") != "SUCCESS");
  if (!pending || !s.check_times.due(c.account_id + "/" + c.region + "/" + name, now, s.settings.recheck_on_read_seconds))
    return found;
  json checked = before;
  if (!recheck(s, name, checked, now)) return std::optional<json>(std::move(checked));  // nothing to persist
  // Compare-and-set per section: a section someone changed meanwhile (an operator verify,
  // a new token, a re-created identity) keeps its new value.
  auto updated = docs.update(
      c, kind::kIdentity, name,
      [&](json& cur) {
        for (const char* section : {"verification", "dkim", "mail_from"}) {
          if (!checked.contains(section)) continue;
          if (cur.value(section, json()) != before.value(section, json())) continue;
          cur[section] = checked[section];
        }
        return base::ok_status();
      },
      "");
  if (!updated.ok()) {
    if (updated.error().code == ErrorCode::kNotFound) return std::optional<json>();
    return updated.error();
  }
  return std::optional<json>(std::move(updated.value()));
}

std::vector<DnsRecord> records(const std::string& name, const json& doc, const Settings& settings) {
  std::vector<DnsRecord> out;
  std::string domain = domain_of(name);
  const json verification = doc.value("verification", json::object());
  if (doc.value("type", "") == "DOMAIN" && verification.contains("token")) {
    out.push_back({"TXT", "_amazonses." + domain, verification["token"].get<std::string>(),
                   "domain verification (v1 VerifyDomainIdentity)"});
  }
  if (doc.contains("dkim")) {
    const json& dkim = doc.at("dkim");
    std::string value = "v=DKIM1; k=rsa; p=" + dkim.value("public_key", "");
    for (const auto& sel : selectors(dkim))
      out.push_back({"TXT", sel + "._domainkey." + domain, value, "DKIM selector " + sel});
  }
  if (doc.contains("mail_from") && !doc.at("mail_from").value("domain", "").empty()) {
    out.push_back({"MX", doc.at("mail_from").at("domain").get<std::string>(), "10 " + settings.hostname,
                   "custom MAIL FROM domain: bounces return to this Sesame host"});
  }
  return out;
}

void force_verified(json& doc, double now) {
  doc["verification"]["status"] = "SUCCESS";
  doc["verification"]["last_success"] = now;
  doc["verification"].erase("error_type");
  if (doc.contains("dkim")) doc["dkim"]["status"] = "SUCCESS";
  doc["operator_verified"] = true;
}

}  // namespace sesame::service::identity
