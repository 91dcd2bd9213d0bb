#include "delivery/outcome.hpp"

#include "base/encoding.hpp"
#include "base/json_text.hpp"

#include "base/clock.hpp"

namespace sesame::delivery {
namespace {
std::string status_of(const smtp::Reply& r) {
  if (!r.enhanced.empty()) return r.enhanced;
  return std::to_string(r.code / 100) + ".0.0";
}

json recipient_entries(const std::vector<std::pair<std::string, Decision>>& rs, bool with_action) {
  json out = json::array();
  for (const auto& [address, d] : rs) {
    json e{{"emailAddress", address}, {"status", d.status}, {"diagnosticCode", "smtp; " + d.diagnostic}};
    if (with_action) e["action"] = "failed";
    out.push_back(std::move(e));
  }
  return out;
}
std::string event_text(const char* type, const std::string& mail_json, const char* key, const json& body) {
  std::string out = R"({"eventType":")";
  out += type;
  out += R"(","mail":)";
  out += mail_json.empty() ? "{}" : mail_json;
  out += R"(,")";
  out += key;
  out += R"(":)";
  out += body.dump(-1, ' ', false, json::error_handler_t::replace);  // remote replies are any bytes
  out += '}';
  return out;
}
}  // namespace

Decision temporary(const std::string& diagnostic, const std::string& delay_type, const std::string& status) {
  Decision d;
  d.kind = Decision::kDeferred;
  d.status = status;
  d.diagnostic = diagnostic;
  d.delay_type = delay_type;
  return d;
}

Decision permanent(const std::string& status, const std::string& diagnostic, const std::string& subtype) {
  Decision d;
  d.kind = Decision::kBounced;
  d.status = status;
  d.diagnostic = diagnostic;
  d.bounce_type = "Permanent";
  d.bounce_subtype = subtype;
  return d;
}

Decision bounced(const std::string& status, const std::string& diagnostic) {
  Decision d;
  d.status = status;
  d.diagnostic = diagnostic;
  auto starts = [&](const char* p) { return status.rfind(p, 0) == 0; };
  // SES's table (§6.3): a full mailbox, an oversized message or rejected content are
  // Transient bounces; an address that does not exist is Permanent/NoEmail; a failure the
  // remote gave up on with a temporary code is Transient/General.
  d.kind = Decision::kBounced;
  d.bounce_type = "Permanent";
  d.bounce_subtype = "General";
  if (status.empty()) {
    d.bounce_type = "Undetermined";
    d.bounce_subtype = "Undetermined";
  } else if (starts("4.")) {
    d.bounce_type = "Transient";
  } else if (starts("5.2.2")) {
    d.bounce_type = "Transient";
    d.bounce_subtype = "MailboxFull";
  } else if (starts("5.3.4") || starts("5.2.3")) {
    d.bounce_type = "Transient";
    d.bounce_subtype = "MessageTooLarge";
  } else if (starts("5.6.")) {
    d.bounce_type = "Transient";
    d.bounce_subtype = "ContentRejected";
  } else if (starts("5.1.1") || starts("5.1.0") || starts("5.1.10") || starts("5.1.2")) {
    d.bounce_subtype = "NoEmail";
  }
  return d;
}

Decision decide(const smtp::Reply& r) {
  Decision d;
  d.status = status_of(r);
  d.diagnostic = r.text();
  if (r.positive()) {
    d.kind = Decision::kDelivered;
    return d;
  }
  const std::string& s = d.status;
  auto starts = [&](const char* p) { return s.rfind(p, 0) == 0; };
  if (r.transient()) {
    d.kind = Decision::kDeferred;
    d.delay_type = starts("4.2.2") ? "MailboxFull" : starts("4.7.") ? "SpamDetected" : "RecipientServerError";
    return d;
  }
  return bounced(d.status, d.diagnostic);
}

Decision decide(const RcptResult& r) {
  if (r.reply) return decide(*r.reply);
  return temporary(r.error, "TransientCommunicationFailure");
}

std::string delivery_event(const EventContext& c, double accepted, const std::string& recipient, const std::string& smtp_response) {
  // Every delivered message has one: written directly, keys in nlohmann's (sorted) order as
  // the other events have them.
  std::string out;
  out.reserve(c.mail_json.size() + smtp_response.size() + recipient.size() + 256);
  out += R"({"eventType":"Delivery","mail":)";
  out += c.mail_json.empty() ? "{}" : c.mail_json;
  out += R"(,"delivery":)";
  base::JsonWriter w(out);
  w.begin_object();
  w.key("processingTimeMillis").value(static_cast<std::int64_t>((c.now - accepted) * 1000));
  w.key("recipients").begin_array().value(recipient).end_array();
  if (!c.remote_ip.empty()) w.key("remoteMtaIp").value(c.remote_ip);
  w.key("reportingMTA").value(c.reporting_mta);
  w.key("smtpResponse").value(smtp_response);
  w.key("timestamp").value(base::format_iso8601(c.now));
  w.end_object();
  out += '}';
  return out;
}

std::string bounce_event(const EventContext& c, const std::string& bounce_type, const std::string& subtype,
                  const std::vector<std::pair<std::string, Decision>>& recipients, const std::string& feedback_id) {
  json bounce{{"bounceType", bounce_type},
              {"bounceSubType", subtype},
              {"bouncedRecipients", recipient_entries(recipients, true)},
              {"timestamp", base::format_iso8601(c.now)},
              {"feedbackId", feedback_id},
              {"reportingMTA", "dns; " + c.reporting_mta}};
  if (!c.remote_ip.empty()) bounce["remoteMtaIp"] = c.remote_ip;
  return event_text("Bounce", c.mail_json, "bounce", bounce);
}

std::string complaint_event(const EventContext& c, const std::vector<std::string>& recipients, const std::string& feedback_id,
                            const std::string& feedback_type, const std::string& user_agent, double arrival) {
  json complained = json::array();
  for (const auto& r : recipients) complained.push_back(json{{"emailAddress", r}});
  json complaint{{"complainedRecipients", complained},
                 {"timestamp", base::format_iso8601(c.now)},
                 {"feedbackId", feedback_id},
                 {"userAgent", user_agent},
                 {"complaintFeedbackType", feedback_type},
                 {"arrivalDate", base::format_iso8601(arrival)}};
  return event_text("Complaint", c.mail_json, "complaint", complaint);
}

store::MessageRecord notice(const std::string& id, const std::string& region, double now, const std::string& to,
                            std::string raw) {
  json meta{{"delivery", {{"return_path", ""}, {"dsn", true}, {"source", ""}, {"max_delivery_seconds", 5 * 86400}}}};
  return store::MessageRecord{id, "", region, now, "", {to}, meta.dump(), std::move(raw)};
}

Decision simulate(const std::string& recipient) {
  std::string local = base::to_lower_ascii(recipient.substr(0, recipient.rfind('@')));
  local = local.substr(0, local.find('+'));
  Decision d;
  if (local == "success" || local == "ooto" || local == "complaint") {
    d.kind = Decision::kDelivered;
    d.status = "2.0.0";
    d.diagnostic = "250 2.0.0 OK (Amazon SES mailbox simulator)";
    d.complaint = local == "complaint";
    d.auto_reply = local == "ooto";
    return d;
  }
  d.kind = Decision::kBounced;
  d.bounce_type = "Permanent";
  d.status = "5.1.1";
  if (local == "suppressionlist") {
    d.bounce_subtype = "OnAccountSuppressionList";
    d.diagnostic = "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an "
                   "invalid address.";
  } else {
    d.bounce_subtype = "General";
    d.diagnostic = "smtp; 550 5.1.1 user unknown";
  }
  return d;
}

std::string delay_event(const EventContext& c, const std::string& delay_type, double expiration,
                 const std::vector<std::pair<std::string, Decision>>& recipients) {
  json delay{{"timestamp", base::format_iso8601(c.now)},
             {"delayType", delay_type},
             {"expirationTime", base::format_iso8601(expiration)},
             {"delayedRecipients", recipient_entries(recipients, false)}};
  if (!c.reporting_mta.empty()) delay["reportingMTA"] = c.reporting_mta;
  return event_text("DeliveryDelay", c.mail_json, "deliveryDelay", delay);
}

}  // namespace sesame::delivery
