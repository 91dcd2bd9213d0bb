// What one delivery attempt means for each recipient, in SES's terms: delivered, delayed
// (DeliveryDelay, retried) or bounced (Bounce with SES's type and sub-type), and the event
// records each produces (reference §6.3). Pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "delivery/smtp_client.hpp"
#include "store/store.hpp"

namespace sesame::delivery {

using json = nlohmann::json;

struct Decision {
  enum Kind { kDelivered, kDeferred, kBounced } kind = kDeferred;
  std::string status;      // RFC 3463 code: "2.0.0", "4.4.1", "5.1.1"
  std::string diagnostic;  // "550 5.1.1 user unknown" or local text
  std::string bounce_type = "Permanent", bounce_subtype = "General";
  std::string delay_type = "TransientCommunicationFailure";
  bool complaint = false;   // the mailbox simulator's complaint@: delivered, then complained about
  bool auto_reply = false;  // the mailbox simulator's ooto@: delivered, then an out-of-office reply
};

/// From a recipient's transaction result.
Decision decide(const RcptResult& r);
/// From a remote reply that ended the attempt for every recipient (greeting, EHLO).
Decision decide(const smtp::Reply& r);
Decision temporary(const std::string& diagnostic, const std::string& delay_type, const std::string& status = "4.4.1");
/// A bounce classified from its RFC 3463 status (SES's bounce types, §6.3); an empty
/// status is Undetermined.
Decision bounced(const std::string& status, const std::string& diagnostic);
Decision permanent(const std::string& status, const std::string& diagnostic, const std::string& subtype = "General");

struct EventContext {
  std::string mail_json;   // the Send event's `mail` object, serialized
  double now = 0;
  std::string reporting_mta;  // this host
  std::string remote_ip;
  std::string remote_host;
};

/// Event records (JSON text): the message's `mail` text spliced in, not re-serialized.
std::string delivery_event(const EventContext& c, double accepted, const std::string& recipient, const std::string& smtp_response);
std::string bounce_event(const EventContext& c, const std::string& bounce_type, const std::string& subtype,
                  const std::vector<std::pair<std::string, Decision>>& recipients, const std::string& feedback_id);
std::string delay_event(const EventContext& c, const std::string& delay_type, double expiration,
                 const std::vector<std::pair<std::string, Decision>>& recipients);
std::string complaint_event(const EventContext& c, const std::vector<std::string>& recipients, const std::string& feedback_id,
                            const std::string& feedback_type, const std::string& user_agent, double arrival);

/// The metadata of a message Sesame sends itself (a DSN, an automatic reply, a forwarded
/// report): null reverse path, no events, never answered with another DSN, 5 days to deliver.
store::MessageRecord notice(const std::string& id, const std::string& region, double now, const std::string& to,
                            std::string raw);

/// The mailbox simulator's answer for one recipient at its domain (by local part, a
/// "+label" ignored): success, bounce, ooto, complaint, suppressionlist; anything else is an
/// unknown user.
Decision simulate(const std::string& recipient);

}  // namespace sesame::delivery
