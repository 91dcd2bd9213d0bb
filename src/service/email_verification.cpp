#include "service/email_verification.hpp"

#include "base/encoding.hpp"
#include "base/ids.hpp"
#include "mime/simple_message.hpp"
#include "service/documents.hpp"
#include "service/identity.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
constexpr double kLinkLifetime = 24 * 3600;
constexpr double kResendInterval = 60;

std::string token_hash(const std::string& token) { return base::hex_lower(base::sha256(token)); }
}  // namespace

base::Result<std::string> send_system_mail(Services& s, const std::string& region, const std::string& to,
                                           const std::string& subject, const std::string& text,
                                           const std::optional<std::string>& html, const std::string& from_address) {
  const std::string sender = from_address.empty() ? s.settings.system_sender : from_address;
  if (!s.settings.capture && !s.intake) return base::make_error(ErrorCode::kUnavailable, "the delivery engine is not running");
  const double now = s.clock.now();
  const std::string id = base::ses_message_id(now, s.settings.message_id_prefix);
  mime::SimpleMessage m;
  SESAME_ASSIGN(m.from, mime::parse_mailbox(sender));
  SESAME_ASSIGN(auto rcpt, mime::parse_mailbox(to));
  m.to.push_back(rcpt);
  m.subject.data = subject;
  m.text = mime::TextPart{text, "UTF-8"};
  if (html) m.html = mime::TextPart{*html, "UTF-8"};
  m.message_id = id + "@" + s.settings.bounce_domain;
  m.date = now;
  SESAME_ASSIGN(auto raw, mime::build_simple(m));
  json meta{{"delivery", {{"return_path", ""}, {"source", ""}, {"max_delivery_seconds", 86400}}}};
  if (s.settings.capture)
    meta["capture"] = json{{"Id", id}, {"Region", region}, {"Timestamp", base::format_iso8601(now)},
                           {"Source", sender},
                           {"Destination", {{"ToAddresses", json::array({to})}}},
                           {"Subject", subject}, {"Body", {{"text_part", text}, {"html_part", html ? json(*html) : json()}}}};
  store::MessageRecord record{id, "", region, now, sender, {rcpt.address}, meta.dump(), raw, s.settings.capture};
  SESAME_CHECK(s.store.write([&](store::Txn& t) { return t.insert_message(record); }));
  if (!s.settings.capture) s.intake->submit(std::move(record));
  return id;
}

base::Result<std::string> send_verification_email(Services& s, const Caller& c, const std::string& address,
                                                  const CustomVerification* custom) {
  const std::string token = base::token(40);
  const double now = s.clock.now();
  Documents docs(s);
  bool skip = false, throttled = false;
  SESAME_ASSIGN(auto doc, docs.update(c, kind::kIdentity, address, [&](json& d) {
    // Sesame's own mail is not resent to a verified address; a custom one is (SES sends it).
    skip = !custom && identity::verification_status(d) == "SUCCESS";
    if (skip) return base::ok_status();
    // At most one mail per address per minute, so the API cannot be used to flood someone.
    if (now - d["verification"].value("link_sent", -1e18) < kResendInterval) {
      skip = throttled = true;
      return base::ok_status();
    }
    d["verification"]["link_hash"] = token_hash(token);
    d["verification"]["link_sent"] = now;
    d["verification"].erase("success_url");
    d["verification"].erase("failure_url");
    if (custom && !custom->success_url.empty()) d["verification"]["success_url"] = custom->success_url;
    if (custom && !custom->failure_url.empty()) d["verification"]["failure_url"] = custom->failure_url;
    return base::ok_status();
  }, "Email identity <" + address + "> does not exist."));
  (void)doc;
  if (throttled && custom)
    return base::make_error(ErrorCode::kThrottled, "Maximum sending rate exceeded: one verification email per address per minute.");
  if (skip) return std::string();
  const std::string link = s.settings.public_url + "/_sesame/verify-email?account=" + base::percent_encode(c.account_id) +
                           "&region=" + base::percent_encode(c.region) + "&identity=" + base::percent_encode(address) +
                           "&token=" + base::percent_encode(token);
  if (custom) {
    // SES appends the link and a short disclaimer to the template's content.
    const std::string disclaimer =
        "If you did not request to verify this email address, please disregard this message.";
    const std::string html = custom->html + "\r\n<p><a href=\"" + link + "\">" + link + "</a></p>\r\n<p>" + disclaimer +
                             "</p>\r\n";
    const std::string text = "To verify this email address, open the following link:\r\n\r\n" + link + "\r\n\r\n" +
                             disclaimer + "\r\n";
    return send_system_mail(s, c.region, address, custom->subject, text, html, custom->from);
  }
  const std::string text =
      "Dear Sesame customer,\r\n\r\n"
      "We have received a request to authorize this email address for use with Sesame (Amazon SES API) in region " +
      c.region + ". If you requested this verification, please go to the following URL to confirm that you are "
      "authorized to use this email address:\r\n\r\n" + link +
      "\r\n\r\nYour request will not be processed unless you confirm the address using this URL. This link expires "
      "24 hours after your original verification request.\r\n\r\n"
      "If you did NOT request to verify this email address, do not click on the link.\r\n";
  return send_system_mail(s, c.region, address, "Email Address Verification Request in region " + c.region, text);
}

base::Status confirm_verification_link(Services& s, const std::string& account, const std::string& region,
                                       const std::string& raw_identity, const std::string& token,
                                       std::string* redirect) {
  // The link is public: one answer for "no such identity" and "wrong token", and nothing
  // is written unless a valid token changes the status.
  const auto invalid = base::make_error(ErrorCode::kInvalidParameter, "This verification link is not valid.");
  auto normalized = identity::normalize(raw_identity);
  if (!normalized.ok() || !identity::is_email(normalized.value()) || token.empty() || token.size() > 256) return invalid;
  const std::string address = normalized.value();
  const double now = s.clock.now();
  Documents docs(s);
  Caller c{account, region, "", ""};
  SESAME_ASSIGN(auto found, docs.find(c, kind::kIdentity, address));
  if (!found) return invalid;
  const json v = found->value("verification", json::object());
  const std::string want = v.value("link_hash", "");
  if (want.empty() || token_hash(token) != want) return invalid;
  // Only a link whose token matched may redirect: the URLs are the template owner's.
  if (redirect) *redirect = v.value("success_url", "");
  if (identity::verification_status(*found) == "SUCCESS") return base::ok_status();  // opened again
  if (now - v.value("link_sent", 0.0) > kLinkLifetime) {
    if (redirect) *redirect = v.value("failure_url", "");
    return base::make_error(ErrorCode::kRejected, "This verification link has expired. Request a new one.");
  }
  auto updated = docs.update(c, kind::kIdentity, address, [&](json& d) -> base::Status {
    if (d.value("verification", json::object()).value("link_hash", "") != want) return invalid;  // re-sent meanwhile
    d["verification"]["status"] = "SUCCESS";
    d["verification"]["last_success"] = now;
    return base::ok_status();
  }, "no identity " + address);
  if (!updated.ok()) {
    if (redirect) *redirect = v.value("failure_url", "");
    return updated.error().code == ErrorCode::kNotFound ? invalid : updated.error();
  }
  return base::ok_status();
}

}  // namespace sesame::service
