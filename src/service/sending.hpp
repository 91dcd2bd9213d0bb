// sending::accept(): the one entry for every send (API now, SMTP later). It validates in
// SES's order (size and recipients, configuration set, account sending, verified sender,
// sandbox recipients, rate and daily quota), builds or processes the MIME message, signs it
// with the From domain's DKIM key, and commits the message, its recipients and its Send
// event in one durable transaction before the MessageId is returned.
// After the commit the message goes to the delivery engine (Services::intake), or, in
// capture mode, stays for GET /_aws/ses.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mime/simple_message.hpp"
#include "queue/throttle.hpp"
#include "service/documents.hpp"
#include "service/quota.hpp"
#include "service/rendering.hpp"

namespace sesame::service {

struct SimpleContent {
  mime::TextPart subject;
  std::optional<mime::TextPart> text, html;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<mime::Attachment> attachments;
};

/// A templated send: the compiled template and this message's data. Rendered by accept();
/// a rendering failure still yields a MessageId and records a Rendering Failure event
/// instead of a message (SES renders after accepting).
struct TemplatedContent {
  std::shared_ptr<const CompiledTemplate> compiled;
  templating::Data data;
  std::vector<std::pair<std::string, std::string>> headers;  // v2 Template.Headers
};

struct Submission {
  std::string operation;  // "SendEmail", "SendRawEmail" (the ses:operation tag)
  bool v2 = false;
  std::string source;  // v1 Source / v2 FromEmailAddress; may be empty for raw content
  std::vector<std::string> to, cc, bcc;  // explicit destinations (raw: v1 Destinations in `to`)
  std::vector<std::string> reply_to;
  std::optional<SimpleContent> simple;
  std::optional<std::string> raw;  // decoded bytes
  std::optional<TemplatedContent> templated;
  std::string configuration_set;
  std::vector<std::pair<std::string, std::string>> tags;
  std::size_t max_bytes = 10u << 20;  // v1: 10 MB; v2: 40 MB
};

class Sending {
 public:
  explicit Sending(Services& s) : s_(s) {}
  /// The MessageId, after the message is durably committed; or SES's error.
  base::Result<std::string> accept(const Caller& caller, Submission submission);
  /// accept() without waiting for the commit: `done` gets the MessageId (after the durable
  /// commit) or SES's error, on this thread when the checks refuse, else on the store's
  /// writer thread. `done` must be short (post the answer elsewhere, never write()).
  void accept_async(const Caller& caller, Submission submission, std::function<void(base::Result<std::string>)> done);
  /// Bulk sends: each submission is checked and prepared as accept() does, then all that
  /// passed are committed in one transaction. One result per submission, in order. An
  /// error every destination shares (configuration set, sender, sending paused) is
  /// returned for the whole request instead, before anything is counted or committed.
  base::Result<std::vector<base::Result<std::string>>> accept_bulk(const Caller& caller, std::vector<Submission> submissions);

 private:
  struct Prepared {
    std::string id;
    store::MessageRecord record;
    std::vector<store::EventRecord> events;  // Send (or Rendering Failure), then any suppression Bounce
    bool store_message = true;  // false: nothing to deliver (render failure, every recipient suppressed)
  };
  /// Everything before the commit: checks, MIME, DKIM, the records to write.
  base::Result<Prepared> prepare(const Caller& c, Submission submission);
  /// prepare(), announced to the store meanwhile (Store::expect_writes).
  base::Result<Prepared> prepare_announced(const Caller& c, Submission submission);
  base::Status check_quota(const Caller& c, std::size_t recipients, const Quota& q);
  /// The identity document (the address's, else its domain's) that makes `address`
  /// verified for sending; nothing when none does.
  base::Result<std::shared_ptr<const json>> verified(Documents& docs, const Caller& c, const std::string& address);
  Services& s_;
};

/// Recipients accepted for the caller's account and region in the last 24 hours (the
/// count the daily quota is enforced on).
base::Result<std::uint64_t> sent_last_24_hours(Services& s, const Caller& c);

/// The capture view (LocalStack's /_aws/ses shape): {"messages": [...]}, each message also
/// carrying "SignedRawData", the bytes delivery would send (DKIM-signed, Bcc removed).
base::Result<json> captured_messages(Services& s, const std::string& email_filter);
base::Result<std::size_t> delete_captured(Services& s, const std::string& id);

void register_sending(HandlerTable& table, Services& services);

}  // namespace sesame::service
