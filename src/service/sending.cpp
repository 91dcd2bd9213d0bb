// sending::accept() and the capture view; see sending.hpp. SES behaviour: reference §2,
// §4.4 (raw headers), §5 (message ids), §6 (the Send event record).
#include "service/sending.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "base/encoding.hpp"
#include "base/ids.hpp"
#include "base/json_text.hpp"
#include "base/log.hpp"
#include "mime/parts.hpp"
#include "mime/raw_message.hpp"
#include "mime/virus.hpp"
#include "service/identity.hpp"
#include "service/quota.hpp"
#include "service/reputation.hpp"
#include "service/tracking.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
using base::Result;

constexpr std::size_t kMaxRecipients = 50;

std::string message_id_domain(const std::string& region) {
  return (region == "us-east-1" ? std::string("email") : region) + ".amazonses.com";
}

/// The message's headers as SES lists them in `mail.headers`: unfolded, trimmed.
void write_header_list(base::JsonWriter& w, const mime::RawMessage& m) {
  w.begin_array();
  std::string v;
  for (const auto& h : m.headers) {
    v.clear();
    for (char c : h.value)
      if (c != '\r' && c != '\n') v.push_back(c);
    w.begin_object().key("name").value(h.name).key("value").value(base::trim(v)).end_object();
  }
  w.end_array();
}

/// A header's addresses as SES lists them in `mail.commonHeaders` (empty when absent or
/// unparsable).
void write_address_array(base::JsonWriter& w, const std::optional<std::string>& header_value) {
  w.begin_array();
  if (header_value)
    if (auto list = mime::parse_address_list(*header_value, 1000); list.ok())
      for (const auto& m : list.value()) w.value(mime::format_mailbox(m));
  w.end_array();
}

/// A JSON number for a count of seconds: an integer when it is one (the usual case, and
/// what a fast reader takes), else nlohmann's text for the double.
void write_seconds(base::JsonWriter& w, double seconds) {
  if (seconds >= 0 && seconds < 9e15 && seconds == static_cast<double>(static_cast<std::int64_t>(seconds)))
    w.value(static_cast<std::int64_t>(seconds));
  else
    w.raw(json(seconds).dump());
}
}  // namespace

Result<std::shared_ptr<const json>> Sending::verified(Documents& docs, const Caller& c, const std::string& address) {
  for (const std::string& candidate : {address, identity::domain_of(address)}) {
    auto normalized = identity::normalize(candidate);
    if (!normalized.ok()) continue;
    SESAME_ASSIGN(auto doc, docs.find_shared(c, kind::kIdentity, normalized.value()));
    if (doc && identity::verified_for_sending(*doc)) return doc;
  }
  return std::shared_ptr<const json>();
}

namespace {
/// The caller's 24-hour count, loaded from the store on first use. Called with the lock
/// held; drops it around the store read.
Result<queue::RollingDay*> day_of(Services& s, const Caller& c, std::unique_lock<std::mutex>& lk) {
  const std::string key = c.account_id + "/" + c.region;
  auto day = s.counters.days.find(key);
  if (day != s.counters.days.end()) return &day->second;
  // All of the last 24 hours counted as recent: errs on the safe side.
  const double now = s.clock.now();
  lk.unlock();
  SESAME_ASSIGN(auto sent, s.store.recipients_since(c.account_id, c.region, now - 86400));
  lk.lock();
  day = s.counters.days.try_emplace(key).first;
  if (day->second.count(now) == 0) day->second.add(now, sent);
  return &day->second;
}
}  // namespace

Result<std::uint64_t> sent_last_24_hours(Services& s, const Caller& c) {
  std::unique_lock lk(s.counters.mu);
  SESAME_ASSIGN(auto day, day_of(s, c, lk));
  return day->count(s.clock.now());
}

base::Status Sending::check_quota(const Caller& c, std::size_t recipients, const Quota& q) {
  const double rate = q.max_rate, daily = q.max_24h;
  const double now = s_.clock.now();
  std::unique_lock lk(s_.counters.mu);
  SESAME_ASSIGN(auto day, day_of(s_, c, lk));
  if (double(day->count(now)) + double(recipients) > daily)
    return base::make_error(ErrorCode::kThrottled, "Daily message quota exceeded.");
  auto [it, fresh] = s_.counters.rates.try_emplace(c.account_id + "/" + c.region, rate, rate);
  if (!fresh) it->second.set_rate(rate, rate);
  // Each recipient counts as one message against the rate, as in SES; a single message
  // wider than the burst is allowed when the bucket is full.
  if (!it->second.try_take(now, std::min<double>(double(recipients), rate)))
    return base::make_error(ErrorCode::kThrottled, "Maximum sending rate exceeded.");
  // Counted now, under the lock, so concurrent sends cannot pass the quota together; a
  // send that then fails to commit stays counted (the safe side).
  day->add(now, recipients);
  return base::ok_status();
}

Result<Sending::Prepared> Sending::prepare(const Caller& c, Submission sub) {
  if (!s_.settings.capture && !s_.intake)
    return base::make_error(ErrorCode::kUnavailable, sub.operation + ": the delivery engine is not running.");
  const double now = s_.clock.now();
  const std::string id = base::ses_message_id(now, s_.settings.message_id_prefix);
  const std::string message_id_header = id + "@" + message_id_domain(c.region);
  // One consistent view of the configuration for every read of this send.
  Documents docs(s_);
  SESAME_CHECK(docs.pin());

  // 1. The message and its envelope.
  mime::RawMessage msg;
  std::string built;  // Simple content: the message as built (sent as is)
  std::vector<mime::Mailbox> rcpts;
  mime::Mailbox from;
  std::string header_from;  // raw content: the From header's address (verified too)
  std::optional<std::string> render_error;  // templated: why the template did not render
  json capture{{"Id", id}, {"Region", c.region}, {"Timestamp", base::format_iso8601(now)}};
  if (sub.raw) {
    mime::RawLimits limits;
    limits.max_bytes = sub.max_bytes;
    SESAME_ASSIGN(msg, mime::parse_raw(*sub.raw, limits));
    SESAME_CHECK(mime::check_single_headers(msg));
    SESAME_ASSIGN(auto directives, mime::take_ses_directives(msg));
    if (sub.configuration_set.empty() && directives.configuration_set) sub.configuration_set = *directives.configuration_set;
    if (sub.tags.empty()) sub.tags = directives.tags;  // API tags win, not merged (§4.4)
    auto from_header = mime::header(msg, "From");
    auto from_list = from_header ? mime::parse_address_list(*from_header, 10)
                                   : base::Result<std::vector<mime::Mailbox>>(std::vector<mime::Mailbox>{});
    if (from_list.ok() && !from_list.value().empty()) header_from = from_list.value().front().address;
    if (sub.source.empty()) {
      if (!from_header) return base::make_error(ErrorCode::kInvalidParameter, "Missing required header 'From'.");
      if (!from_list.ok()) return from_list.error();
      if (from_list.value().empty()) return base::make_error(ErrorCode::kInvalidParameter, "Missing required header 'From'.");
      from = from_list.value().front();
    } else {
      SESAME_ASSIGN(from, mime::parse_mailbox(sub.source));
    }
    if (sub.to.empty()) {
      SESAME_ASSIGN(rcpts, mime::header_recipients(msg));
    } else {
      for (const auto& r : sub.to) {
        SESAME_ASSIGN(auto m, mime::parse_mailbox(r));
        rcpts.push_back(std::move(m));
      }
    }
    mime::remove_header(msg, "Bcc");
    mime::replace_header(msg, "Date", mime::rfc5322_date(now));
    mime::replace_header(msg, "Message-ID", "<" + message_id_header + ">");
    if (s_.settings.capture) {
      capture["RawData"] = *sub.raw;
      capture["Source"] = from.address;
    }
  } else {
    if (sub.templated) {
      auto rendered = render_template(*sub.templated->compiled, sub.templated->data);
      SimpleContent sc;
      sc.headers = sub.templated->headers;
      if (rendered.ok()) {
        sc.subject = std::move(rendered.value().subject);
        sc.text = std::move(rendered.value().text);
        sc.html = std::move(rendered.value().html);
      } else {
        if (rendered.error().code == ErrorCode::kInternal) return rendered.error();
        render_error = rendered.error().message;
        sc.text = mime::TextPart{"", "UTF-8"};
      }
      sub.simple = std::move(sc);
    }
    if (!sub.simple) return base::make_error(ErrorCode::kInvalidParameter, "The message has no content.");
    SESAME_ASSIGN(from, mime::parse_mailbox(sub.source));
    mime::SimpleMessage sm;
    sm.from = from;
    json dest{{"ToAddresses", json::array()}, {"CcAddresses", json::array()}, {"BccAddresses", json::array()}};
    for (auto [list, field] : {std::pair{&sub.to, "ToAddresses"}, std::pair{&sub.cc, "CcAddresses"}, std::pair{&sub.bcc, "BccAddresses"}}) {
      for (const auto& r : *list) {
        SESAME_ASSIGN(auto m, mime::parse_mailbox(r));
        rcpts.push_back(m);
        if (list == &sub.to) sm.to.push_back(m);
        if (list == &sub.cc) sm.cc.push_back(m);
        dest[field].push_back(r);
      }
    }
    for (const auto& r : sub.reply_to) {
      SESAME_ASSIGN(auto m, mime::parse_mailbox(r));
      sm.reply_to.push_back(std::move(m));
    }
    sm.subject = sub.simple->subject;
    sm.text = sub.simple->text;
    sm.html = sub.simple->html;
    // Open and click tracking, when the configuration set publishes those events.
    if (sm.html && !sub.configuration_set.empty() && !render_error) {
      SESAME_ASSIGN(auto tcs, docs.find(c, kind::kConfigurationSet, sub.configuration_set));
      if (tcs)
        if (auto t = tracking_for(*tcs, s_.settings.public_url)) {
          t->message_id = id;
          t->key = s_.settings.tracking_key;
          sm.html->data = track_html(sm.html->data, *t);
        }
    }
    sm.headers = sub.simple->headers;
    sm.attachments = sub.simple->attachments;
    sm.message_id = message_id_header;
    sm.date = now;
    SESAME_ASSIGN(built, mime::build_simple(sm));
    if (built.size() > sub.max_bytes)
      return base::make_error(ErrorCode::kInvalidParameter, "Message length is more than " + std::to_string(sub.max_bytes) + " bytes");
    // Only the header block is parsed back (for the event's headers); the bytes to send are
    // the built message itself.
    const std::size_t header_end = built.find("\r\n\r\n");
    SESAME_ASSIGN(msg, mime::parse_raw(header_end == std::string::npos ? built : built.substr(0, header_end + 4)));
    if (s_.settings.capture) {
      capture["Destination"] = dest;
      capture["Source"] = sub.source;
      capture["Subject"] = sub.simple->subject.data;
      capture["Body"] = json{{"text_part", sub.simple->text ? json(sub.simple->text->data) : json()},
                             {"html_part", sub.simple->html ? json(sub.simple->html->data) : json()}};
      if (sub.templated) {  // LocalStack's fields for templated sends
        capture["Template"] = sub.templated->compiled->name;
        capture["TemplateData"] = sub.templated->data.dump();
      }
    }
  }
  if (rcpts.empty()) return base::make_error(ErrorCode::kInvalidParameter, "Missing final '@domain'");
  if (rcpts.size() > kMaxRecipients) return base::make_error(ErrorCode::kInvalidParameter, "Recipient count exceeds 50.");

  // 2. Configuration set and account: exist, sending enabled. One view of the configuration
  // for the whole send (cached while nothing changes).
  bool require_tls = false;
  double max_delivery_seconds = 14 * 3600;  // SES's default for MaxDeliverySeconds
  std::optional<json> cs_suppression;        // the configuration set's SuppressionOptions, when set
  std::optional<TrackingLinks> raw_tracking;  // raw content: open and click tracking, when on
  if (!sub.configuration_set.empty()) {
    SESAME_ASSIGN(auto cs, docs.find_shared(c, kind::kConfigurationSet, sub.configuration_set));
    if (!cs) return base::make_error(ErrorCode::kNotFound, "Configuration set <" + sub.configuration_set + "> does not exist.", kind::kConfigurationSet);
    if (!cs->value("SendingOptions", json::object()).value("SendingEnabled", true))
      return base::make_error(ErrorCode::kPaused, "Sending is paused for configuration set " + sub.configuration_set + ".", kind::kConfigurationSet);
    json delivery = cs->value("DeliveryOptions", json::object());
    require_tls = delivery.value("TlsPolicy", "OPTIONAL") == "REQUIRE";
    if (delivery.contains("MaxDeliverySeconds") && delivery["MaxDeliverySeconds"].is_number())
      max_delivery_seconds = delivery["MaxDeliverySeconds"].get<double>();
    if (cs->contains("SuppressionOptions")) cs_suppression = cs->at("SuppressionOptions");
    if (sub.raw) raw_tracking = tracking_for(*cs, s_.settings.public_url);
  }
  SESAME_ASSIGN(auto settings, docs.find_shared(c, kind::kAccount, ""));
  // Paused by the account (UpdateAccountSendingEnabled) or by the reputation review.
  if (settings && (!settings->value("sending_enabled", true) || enforcement_status(*settings) == "SHUTDOWN"))
    return base::make_error(ErrorCode::kPaused, "Sending is paused for this account.");

  // 3. Verified sender; in the sandbox, verified recipients too.
  std::string region_upper = base::to_upper_ascii(c.region);
  SESAME_ASSIGN(auto sender_identity, verified(docs, c, from.address));
  // A raw message's From header must be verified as well when it names someone other than
  // the source (envelope): an authenticated sender cannot put anyone's address in From.
  bool header_from_ok = true;
  if (!header_from.empty() && base::to_lower_ascii(header_from) != base::to_lower_ascii(from.address)) {
    SESAME_ASSIGN(auto h, verified(docs, c, header_from));
    header_from_ok = h != nullptr;
  }
  if (!sender_identity || !header_from_ok) {
    std::string list = sender_identity ? "" : from.address;
    if (!header_from_ok) list += (list.empty() ? "" : ", ") + header_from;
    return base::make_error(ErrorCode::kRejected, "Email address is not verified. The following identities failed the check in region " +
                                                      region_upper + ": " + list);
  }
  SESAME_ASSIGN(auto account, docs.account(c.account_id));
  bool production = account && account->production;
  if (!production) {
    std::vector<std::string> failed;
    for (const auto& r : rcpts) {
      // The mailbox simulator takes mail in the sandbox too, as SES's does.
      if (!s_.settings.simulator_domain.empty() &&
          base::to_lower_ascii(identity::domain_of(r.address)) == s_.settings.simulator_domain)
        continue;
      SESAME_ASSIGN(auto ok, verified(docs, c, r.address));
      if (!ok) failed.push_back(r.address);
    }
    if (!failed.empty()) {
      std::string list;
      for (std::size_t i = 0; i < failed.size(); ++i) list += (i ? ", " : "") + failed[i];
      return base::make_error(ErrorCode::kRejected,
                              "Email address is not verified. The following identities failed the check in region " + region_upper + ": " + list,
                              "recipient");
    }
  }

  // 4. The envelope sender: <id>@<custom MAIL FROM domain> when verified, else
  // <id>@<bounce domain>, so a bounce names its message (reference §11.4).
  const std::string from_domain = identity::domain_of(from.address);
  std::shared_ptr<const json> dom;
  // The identity that authorized the send (SES's mail.sourceArn): the address when it is
  // verified itself, else its domain.
  const std::string source_identity = sender_identity->value("type", "") == "DOMAIN"
                                          ? base::to_lower_ascii(identity::domain_of(from.address))
                                          : from.address;
  if (sender_identity->value("type", "") == "DOMAIN") {
    dom = sender_identity;  // the sender was verified through its domain: already read
  } else if (auto normalized = identity::normalize(from_domain); normalized.ok()) {
    SESAME_ASSIGN(dom, docs.find_shared(c, kind::kIdentity, normalized.value()));
  }
  std::string return_path = id + "@" + s_.settings.bounce_domain;
  for (const json* doc : {sender_identity.get(), dom.get()}) {
    if (!doc || !doc->contains("mail_from")) continue;
    const json& mf = doc->at("mail_from");
    if (mf.value("domain", "").empty()) continue;
    if (mf.value("status", "") == "SUCCESS") {
      return_path = id + "@" + mf.value("domain", "");
    } else if (mf.value("behavior", "USE_DEFAULT_VALUE") == "REJECT_MESSAGE") {
      return base::make_error(ErrorCode::kRejected, "Custom MAIL FROM domain " + mf.value("domain", "") + " is not verified.", "mail-from");
    }
    break;
  }

  // 5. Quotas (suppressed recipients count: SES sends to them as far as quotas go).
  SESAME_CHECK(check_quota(c, rcpts.size(), effective_quota(settings ? *settings : json::object(), production)));

  // 5b. The account's suppression list, for the reasons in effect: the configuration set's
  // SuppressionOptions, else the account's SuppressionAttributes (default both reasons).
  const json reasons = (cs_suppression ? *cs_suppression
                                       : (settings ? settings->value("suppression", json::object()) : json::object()))
                           .value("SuppressedReasons", json::array({"BOUNCE", "COMPLAINT"}));
  std::vector<store::Suppressed> suppressed;
  bool list_has_entries = false;
  if (!reasons.empty()) {
    SESAME_ASSIGN(list_has_entries, docs.has_suppressed(c));  // cached: usually none
  }
  if (list_has_entries) {
    std::vector<std::string> lower;
    for (const auto& r : rcpts) lower.push_back(base::to_lower_ascii(r.address));
    SESAME_ASSIGN(auto listed, s_.store.suppressed_among(c.account_id, c.region, lower));
    for (auto& e : listed)
      if (std::find(reasons.begin(), reasons.end(), e.reason) != reasons.end()) suppressed.push_back(std::move(e));
  }

  // 5c. Open and click tracking of raw content (SendRawEmail, SMTP), as SES does: the HTML
  // parts that are not attachments, before signing (simple content was tracked in step 1).
  if (raw_tracking) {
    raw_tracking->message_id = id;
    raw_tracking->key = s_.settings.tracking_key;
    mime::edit_html_parts(msg, [&](std::string_view html) { return track_html(html, *raw_tracking); });
  }

  // 6. DKIM: the From domain's key, when its DKIM is enabled and verified.
  std::string wire = built.empty() ? mime::serialize(msg) : std::move(built);
  if (!render_error) {
    auto normalized = identity::normalize(from_domain);
    if (dom && dom->contains("dkim") && s_.signer) {
      const json& k = dom->at("dkim");
      if (k.value("signing_enabled", false) && k.value("status", "") == "SUCCESS") {
        json tokens = k.value("tokens", json::array());
        std::string selector = k.value("origin", "") == "EXTERNAL" ? k.value("selector", "")
                               : (tokens.is_array() && !tokens.empty() && tokens[0].is_string()) ? tokens[0].get<std::string>()
                                                                                                   : std::string();
        if (selector.empty()) return base::make_error(ErrorCode::kInternal, "identity " + from_domain + " has DKIM without a selector");
        mailauth::dkim::SignOptions o;
        o.domain = normalized.value();
        o.selector = selector;
        o.now = now;
        SESAME_ASSIGN(auto sig, s_.signer->sign(wire, mailauth::dkim::KeyRef{c.account_id, c.region, normalized.value(),
                                                                              k.value("key_id", "")}, o));
        wire = sig + wire;
      }
    }
  }

  // 7. The Send event (reference §6) and the durable commit. The `mail` object is written
  // once, keys in nlohmann's (sorted) order: the Send event and every later event of this
  // message (delivery copies it from the message's record) splice in the same text. Header
  // bytes that are not UTF-8 (legacy 8-bit headers) become U+FFFD there; the message itself
  // goes out as it came.
  std::map<std::string, std::vector<std::string>> tags;
  tags["ses:operation"] = {sub.operation};
  tags["ses:source-ip"] = {c.source_ip};
  tags["ses:from-domain"] = {from_domain};
  tags["ses:caller-identity"] = {c.access_key_id};
  if (!sub.configuration_set.empty()) tags["ses:configuration-set"] = {sub.configuration_set};
  for (const auto& [k, v] : sub.tags) tags[k].push_back(v);
  std::vector<std::string> addresses;
  for (const auto& r : rcpts) {
    const std::string lower = base::to_lower_ascii(r.address);
    if (std::none_of(suppressed.begin(), suppressed.end(), [&](const store::Suppressed& e) { return e.address == lower; }))
      addresses.push_back(r.address);
  }
  std::string mail_json;
  mail_json.reserve(2048);
  {
    base::JsonWriter w(mail_json);
    w.begin_object().key("commonHeaders").begin_object().key("from");
    write_address_array(w, mime::header(msg, "From"));
    w.key("messageId").value(id);
    if (auto subj = mime::header(msg, "Subject")) w.key("subject").value(*subj);
    w.key("to");
    write_address_array(w, mime::header(msg, "To"));
    w.end_object().key("destination").begin_array();
    for (const auto& r : rcpts) w.value(r.address);
    w.end_array().key("headers");
    write_header_list(w, msg);
    w.key("headersTruncated").value(false);
    w.key("messageId").value(id);
    w.key("sendingAccountId").value(c.account_id);
    w.key("source").value(sub.source.empty() ? from.address : sub.source);
    w.key("sourceArn").value(arn(c, "identity", source_identity));
    w.key("tags").begin_object();
    for (const auto& [k, values] : tags) {
      w.key(k).begin_array();
      for (const auto& v : values) w.value(v);
      w.end_array();
    }
    w.end_object().key("timestamp").value(base::format_iso8601(now)).end_object();
  }
  // The delivery engine's instructions (parsed again for every attempt).
  std::string meta;
  {
    base::JsonWriter w(meta);
    w.begin_object();
    if (s_.settings.capture) {
      if (!capture.contains("Destination")) {
        json to = json::array();
        for (const auto& r : rcpts) to.push_back(r.address);
        capture["Destination"] = json{{"ToAddresses", std::move(to)}};
      }
      w.key("capture").raw(capture.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    w.key("delivery").begin_object();
    w.key("feedback_forwarding").value(sender_identity->value("feedback_forwarding", true));
    w.key("max_delivery_seconds");
    write_seconds(w, max_delivery_seconds);
    w.key("require_tls").value(require_tls);
    w.key("return_path").value(return_path);
    w.key("source").value(from.address);
    w.key("suppress_bounces").value(std::find(reasons.begin(), reasons.end(), "BOUNCE") != reasons.end());
    w.key("suppress_complaints").value(std::find(reasons.begin(), reasons.end(), "COMPLAINT") != reasons.end());
    w.end_object().end_object();
  }
  if (render_error) {
    // SES accepts the call, then fails to render: no message, a Rendering Failure event.
    json failure{{"errorMessage", *render_error}, {"templateName", sub.templated->compiled->name}};
    Prepared out{id, store::MessageRecord{},
                 {store::EventRecord{c.account_id, c.region, id, "Rendering Failure",
                                     R"({"eventType":"Rendering Failure","mail":)" + mail_json + R"(,"failure":)" +
                                         failure.dump(-1, ' ', false, json::error_handler_t::replace) + "}",
                                     now}}};
    out.store_message = false;
    return out;
  }
  if (mime::carries_test_virus(wire)) {
    // SES accepts the call, finds a virus and does not deliver: Send, then Reject.
    base::log().info("{}: {} carries a test virus: rejected, not delivered", sub.operation, id);
    Prepared out{id, store::MessageRecord{},
                 {store::EventRecord{c.account_id, c.region, id, "Send",
                                     R"({"eventType":"Send","mail":)" + mail_json + R"(,"send":{}})", now},
                  store::EventRecord{c.account_id, c.region, id, "Reject",
                                     R"({"eventType":"Reject","mail":)" + mail_json + R"(,"reject":{"reason":"Bad content"}})",
                                     now}}};
    out.store_message = false;
    return out;
  }
  const bool deliverable = !addresses.empty();
  Prepared out{id,
                store::MessageRecord{id, c.account_id, c.region, now, from.address, addresses, std::move(meta), std::move(wire),
                                     s_.settings.capture},
                {store::EventRecord{c.account_id, c.region, id, "Send",
                                    R"({"eventType":"Send","mail":)" + mail_json + R"(,"send":{}})", now}}};
  if (!suppressed.empty()) {
    // Not attempted: a permanent bounce, as SES reports it (reference §6, OnAccountSuppressionList).
    json bounced = json::array();
    for (const auto& e : suppressed)
      bounced.push_back(json{{"emailAddress", e.address},
                             {"action", "failed"},
                             {"status", "5.1.1"},
                             {"diagnosticCode", "Amazon SES did not send the message to this address because it is on "
                                                "the suppression list for your account."}});
    json bounce{{"bounceType", "Permanent"},
                {"bounceSubType", "OnAccountSuppressionList"},
                {"bouncedRecipients", bounced},
                {"timestamp", base::format_iso8601(now)},
                {"feedbackId", base::ses_message_id(now, s_.settings.message_id_prefix)},
                {"reportingMTA", "dns; " + s_.settings.hostname}};
    out.events.push_back(store::EventRecord{c.account_id, c.region, id, "Bounce",
                                            R"({"eventType":"Bounce","mail":)" + mail_json + R"(,"bounce":)" +
                                                bounce.dump(-1, ' ', false, json::error_handler_t::replace) + "}",
                                            now});
  }
  out.store_message = deliverable;
  out.record.mail = std::move(mail_json);
  return out;
}

namespace {
base::Status insert_prepared(store::Txn& t, const store::MessageRecord& record,
                             const std::vector<store::EventRecord>& events, bool store_message) {
  if (store_message) SESAME_CHECK(t.insert_message(record));
  for (const auto& e : events) SESAME_CHECK(t.insert_event(e));
  return base::ok_status();
}

/// Errors that do not depend on the destination: a bulk request fails as a whole.
bool request_level(const base::Error& e) {
  return (e.code == ErrorCode::kRejected && e.subject != "recipient") || e.code == ErrorCode::kNotFound ||
         e.code == ErrorCode::kPaused || e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kInternal;
}
/// A send is announced to the store while it is being prepared (its write is queued just
/// after): under load the store's group commit waits a little for it
/// (SqliteOptions::commit_delay_us).
class AnnouncedWrite {
 public:
  explicit AnnouncedWrite(store::Store& s) : s_(s) { s_.expect_writes(1); }
  ~AnnouncedWrite() { s_.expect_writes(-1); }
  AnnouncedWrite(const AnnouncedWrite&) = delete;
  AnnouncedWrite& operator=(const AnnouncedWrite&) = delete;

 private:
  store::Store& s_;
};
}  // namespace

Result<Sending::Prepared> Sending::prepare_announced(const Caller& c, Submission sub) {
  AnnouncedWrite announced(s_.store);
  return prepare(c, std::move(sub));
}

Result<std::string> Sending::accept(const Caller& c, Submission sub) {
  SESAME_ASSIGN(auto p, prepare_announced(c, std::move(sub)));
  SESAME_CHECK(s_.store.write([&](store::Txn& t) { return insert_prepared(t, p.record, p.events, p.store_message); }));
  if (!s_.settings.capture && p.store_message) s_.intake->submit(std::move(p.record));
  return p.id;
}

Result<std::vector<Result<std::string>>> Sending::accept_bulk(const Caller& c, std::vector<Submission> subs) {
  // Each destination is committed as soon as it is prepared (the store's writer groups
  // them), so the disk works while the next ones are rendered and signed; the answer waits
  // for every commit.
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::size_t outstanding = 0;
  } shared;
  std::vector<std::optional<Result<std::string>>> results(subs.size());
  Services* services = &s_;
  auto commit = [&](std::size_t i, Prepared p) {
    auto held = std::make_shared<Prepared>(std::move(p));
    {
      std::lock_guard lk(shared.mu);
      ++shared.outstanding;
    }
    s_.store.write_async([held](store::Txn& t) { return insert_prepared(t, held->record, held->events, held->store_message); },
                         [&, i, held, services](base::Status st) {
                           if (st.ok() && held->store_message && !services->settings.capture)
                             services->intake->submit(std::move(held->record));
                           std::lock_guard lk(shared.mu);
                           results[i] = st.ok() ? Result<std::string>(held->id) : Result<std::string>(st.error());
                           if (--shared.outstanding == 0) shared.cv.notify_all();
                         });
  };
  auto run = [&](std::size_t i) -> std::optional<base::Error> {
    auto p = prepare_announced(c, std::move(subs[i]));
    if (!p.ok()) {
      std::lock_guard lk(shared.mu);
      results[i] = p.error();
      return p.error();
    }
    commit(i, std::move(p).value());
    return std::nullopt;
  };
  // The first destination alone: an error every destination would share ends the request
  // before anything else is counted or written.
  if (!subs.empty())
    if (auto e = run(0); e && request_level(*e)) return *e;
  // The rest on the cores available (rendering and DKIM signing dominate; prepare() is
  // thread-safe, as concurrent SMTP sessions already use it).
  const std::size_t helpers =
      std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()), 4) - 1;
  std::atomic<std::size_t> next{1};
  auto drain = [&] {
    for (std::size_t i = next++; i < subs.size(); i = next++) run(i);
  };
  std::vector<std::thread> threads;
  for (std::size_t h = 0; h < helpers && subs.size() > 8; ++h) threads.emplace_back(drain);
  drain();
  for (auto& t : threads) t.join();
  std::unique_lock lk(shared.mu);
  shared.cv.wait(lk, [&] { return shared.outstanding == 0; });
  std::vector<Result<std::string>> out;
  out.reserve(subs.size());
  for (auto& r : results) out.push_back(std::move(*r));
  return out;
}

void Sending::accept_async(const Caller& c, Submission sub, std::function<void(base::Result<std::string>)> done) {
  auto prepared = prepare_announced(c, std::move(sub));
  if (!prepared.ok()) return done(prepared.error());
  auto p = std::make_shared<Prepared>(std::move(prepared).value());
  Services* services = &s_;
  s_.store.write_async([p](store::Txn& t) { return insert_prepared(t, p->record, p->events, p->store_message); },
                       [services, p, done = std::move(done)](base::Status st) {
                         if (!st.ok()) return done(st.error());
                         if (!services->settings.capture && p->store_message) services->intake->submit(std::move(p->record));
                         done(p->id);
                       });
}

Result<json> captured_messages(Services& s, const std::string& email_filter) {
  SESAME_ASSIGN(auto list, s.store.messages(email_filter, 10000));
  json out = json::array();
  for (const auto& m : list) {
    json meta = json::parse(m.meta, nullptr, false);
    if (meta.is_discarded()) continue;
    json j = meta.contains("capture") ? meta["capture"] : meta;  // older records held only the capture view
    // Beyond LocalStack's fields: the message exactly as it would be delivered (signed).
    j["SignedRawData"] = m.raw;
    out.push_back(std::move(j));
  }
  return json{{"messages", out}};
}

Result<std::size_t> delete_captured(Services& s, const std::string& id) { return s.store.delete_messages(id); }

}  // namespace sesame::service
