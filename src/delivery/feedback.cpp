// See feedback.hpp.
#include "delivery/feedback.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "base/ids.hpp"
#include "base/log.hpp"
#include "delivery/outcome.hpp"
#include "mime/dsn.hpp"
#include "mime/report.hpp"

namespace sesame::delivery {
namespace {
using nlohmann::json;

std::string local_part(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? address : address.substr(0, at);
}
std::string domain_part(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? std::string() : base::to_lower_ascii(address.substr(at + 1));
}

/// SES message ids: hex, dashes, 60 characters ("0100018f…-000000").
bool looks_like_message_id(const std::string& s) {
  return s.size() >= 40 && s.size() <= 80 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) || c == '-';
         });
}

/// The message's recipient matching `address` (case-insensitive), or empty.
std::string recipient_in(const store::MessageRecord& m, const std::string& address) {
  for (const auto& r : m.recipients)
    if (base::to_lower_ascii(r) == address) return r;
  return {};
}

/// Whom a report is about among the message's recipients: those it names, else the only
/// recipient when there is one.
std::vector<std::string> subjects(const store::MessageRecord& m, const std::vector<std::string>& named) {
  std::vector<std::string> out;
  for (const auto& a : named)
    if (auto r = recipient_in(m, a); !r.empty() && std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  if (out.empty() && m.recipients.size() == 1) out.push_back(m.recipients[0]);
  return out;
}

std::string strip_type(const std::string& typed) {
  auto semi = typed.find(';');
  return std::string(base::trim(semi == std::string::npos ? typed : typed.substr(semi + 1)));
}

/// Addresses that already have an event of `type` for this message (a report mailed twice
/// is recorded once).
std::vector<std::string> already(const std::vector<store::EventRecord>& events, const char* type, const char* object,
                                 const char* list) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e.type != type) continue;
    json j = json::parse(e.body, nullptr, false);
    if (!j.is_object()) continue;
    for (const auto& r : j.value(object, json::object()).value(list, json::array()))
      if (r.is_object()) out.push_back(base::to_lower_ascii(r.value("emailAddress", "")));
  }
  return out;
}
}  // namespace

FeedbackProcessor::FeedbackProcessor(store::Store& store, const base::Clock& clock, FeedbackOptions options)
    : store_(store), clock_(clock), o_(std::move(options)) {
  for (auto& d : o_.domains) d = base::to_lower_ascii(d);
}

bool FeedbackProcessor::accepts(const std::string& rcpt) const {
  const std::string d = domain_part(rcpt);
  return !d.empty() && std::find(o_.domains.begin(), o_.domains.end(), d) != o_.domains.end();
}

base::Result<FeedbackResult> FeedbackProcessor::process(const std::vector<std::string>& rcpts, std::string_view message) {
  FeedbackResult out;
  auto parsed = mime::parse_report(message);
  if (!parsed.ok()) {
    out.note = "not a message: " + parsed.error().message;
    return out;
  }
  const mime::Report& report = parsed.value();
  if (report.kind == mime::Report::kNone) {
    out.note = report.auto_reply ? "an automatic reply" : "no delivery or feedback report in it";
    return out;
  }
  // Which message: the envelope address first (sending made it), then the reported
  // message's Message-ID.
  std::vector<std::string> candidates;
  for (const auto& r : rcpts) candidates.push_back(local_part(r));
  candidates.push_back(local_part(report.original_message_id));
  std::optional<store::MessageRecord> msg;
  for (const auto& id : candidates) {
    if (!looks_like_message_id(id)) continue;
    SESAME_ASSIGN(auto m, store_.message(id));
    if (m && !m->account.empty()) {
      msg = std::move(m);
      break;
    }
  }
  if (!msg) {
    out.note = "no message of ours matches it";
    return out;
  }
  out.message_id = msg->id;
  if (msg->recipients.empty()) {
    // store::message() leaves them out; the mail object has them (its destination).
    json mail = json::parse(msg->mail, nullptr, false);
    if (mail.is_object())
      for (const auto& d : mail.value("destination", json::array()))
        if (d.is_string()) msg->recipients.push_back(d.get<std::string>());
  }
  json meta = json::parse(msg->meta, nullptr, false);
  json d = meta.is_object() ? meta.value("delivery", json::object()) : json::object();
  SESAME_ASSIGN(auto events, store_.events_for(msg->id));
  const double now = clock_.now();
  EventContext ctx;
  ctx.mail_json = msg->mail;
  ctx.now = now;
  std::vector<store::EventRecord> records;
  std::vector<store::Suppressed> suppress;

  if (report.kind == mime::Report::kDsn) {
    const auto seen = already(events, "Bounce", "bounce", "bouncedRecipients");
    // One Bounce event per bounce type, as SES groups recipients.
    std::vector<std::pair<std::pair<std::string, std::string>, std::vector<std::pair<std::string, Decision>>>> groups;
    for (const auto& rr : report.recipients) {
      if (rr.action != "failed") continue;
      auto who = subjects(*msg, {rr.address});
      if (who.size() != 1 || std::find(seen.begin(), seen.end(), base::to_lower_ascii(who[0])) != seen.end()) continue;
      Decision dec = bounced(rr.status, strip_type(rr.diagnostic).empty() ? rr.status : strip_type(rr.diagnostic));
      auto key = std::make_pair(dec.bounce_type, dec.bounce_subtype);
      auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& x) { return x.first == key; });
      if (g == groups.end()) g = groups.insert(groups.end(), {key, {}});
      g->second.emplace_back(who[0], dec);
    }
    ctx.reporting_mta = strip_type(report.reporting_mta);
    if (ctx.reporting_mta.empty()) ctx.reporting_mta = "unknown";
    for (const auto& [type, list] : groups) {
      const std::string feedback_id = base::ses_message_id(now, o_.message_id_prefix);
      records.push_back(store::EventRecord{msg->account, msg->region, msg->id, "Bounce",
                                           bounce_event(ctx, type.first, type.second, list, feedback_id), now});
      out.bounces += int(list.size());
      if (type.first == "Permanent" && d.value("suppress_bounces", true))
        for (const auto& [addr, dec] : list)
          suppress.push_back(store::Suppressed{base::to_lower_ascii(addr), "BOUNCE", now, msg->id, feedback_id});
    }
    if (groups.empty()) out.note = "no failed recipient of the message in it (or already recorded)";
  } else {
    const auto seen = already(events, "Complaint", "complaint", "complainedRecipients");
    std::vector<std::string> who;
    for (const auto& r : subjects(*msg, report.original_rcpt_to.empty() ? report.original_to : report.original_rcpt_to))
      if (std::find(seen.begin(), seen.end(), base::to_lower_ascii(r)) == seen.end()) who.push_back(r);
    if (!who.empty()) {
      const std::string feedback_id = base::ses_message_id(now, o_.message_id_prefix);
      auto arrival = base::parse_http_date(report.arrival_date);
      const std::string type = report.feedback_type.empty() ? "abuse" : report.feedback_type;
      records.push_back(store::EventRecord{
          msg->account, msg->region, msg->id, "Complaint",
          complaint_event(ctx, who, feedback_id, type, report.user_agent, arrival ? *arrival : now), now});
      out.complaints = int(who.size());
      // "not-spam" reports withdraw a complaint; they do not suppress.
      if (type != "not-spam" && d.value("suppress_complaints", true))
        for (const auto& r : who)
          suppress.push_back(store::Suppressed{base::to_lower_ascii(r), "COMPLAINT", now, msg->id, feedback_id});
    } else {
      out.note = "no recipient of the message in it (or already recorded)";
    }
  }
  if (records.empty()) return out;
  // Email feedback forwarding: the report goes on to the sender (never about a DSN itself).
  std::optional<store::MessageRecord> forward;
  const std::string source = d.value("source", std::string());
  if (o_.intake && d.value("feedback_forwarding", true) && !d.value("dsn", false) && !source.empty()) {
    const bool dsn = report.kind == mime::Report::kDsn;
    const std::string id = base::ses_message_id(now, o_.message_id_prefix);
    std::string raw = mime::forward_report(message, (dsn ? "MAILER-DAEMON@" : "complaints@") + o_.bounce_domain, source,
                                           dsn ? "Delivery Status Notification (Failure)" : "Complaint about your message",
                                           id + "@" + o_.bounce_domain, now);
    if (!raw.empty()) forward = notice(id, msg->region, now, source, std::move(raw));
  }
  SESAME_CHECK(store_.write([&](store::Txn& t) -> base::Status {
    for (const auto& e : records) SESAME_CHECK(t.insert_event(e));
    for (const auto& s : suppress) SESAME_CHECK(t.suppress(msg->account, msg->region, s));
    if (forward) SESAME_CHECK(t.insert_message(*forward));
    return base::ok_status();
  }));
  if (forward) o_.intake->submit(std::move(*forward));
  return out;
}

}  // namespace sesame::delivery
