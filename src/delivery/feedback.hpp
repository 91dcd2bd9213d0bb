// Feedback that arrives after delivery (reference §6.3, issue 6 item 4): asynchronous
// bounces (DSNs) and complaint reports (ARF) mailed to the bounce domain, mapped back to
// their message through the envelope address (<message-id>@<bounce domain>, as sending
// sets the return path) or the reported message's Message-ID, and turned into Bounce and
// Complaint events with suppression-list entries, in one transaction; with email feedback
// forwarding on (the sending identity's setting, the default) the report is forwarded to
// the original sender, as SES does. The SMTP side is a
// net::SmtpListener in inbound mode (app/feedback.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "queue/scheduler.hpp"
#include "store/store.hpp"

namespace sesame::delivery {

struct FeedbackOptions {
  std::vector<std::string> domains;  // mail for these domains is taken (the bounce domain …)
  std::string message_id_prefix = "0100";
  std::string bounce_domain = "localhost";  // From of forwarded reports
  /// Where forwarded reports go for delivery (the engine); none: reports are not forwarded.
  queue::Intake* intake = nullptr;
};

struct FeedbackResult {
  std::string message_id;  // the message it was about; empty when none was found
  int bounces = 0, complaints = 0;
  std::string note;        // why nothing was recorded, for the log
};

class FeedbackProcessor {
 public:
  FeedbackProcessor(store::Store& store, const base::Clock& clock, FeedbackOptions options);
  /// Whether mail to `rcpt` is feedback Sesame takes (never a relay).
  bool accepts(const std::string& rcpt) const;
  /// Reads one message sent to `rcpts`; records what it reports. An error means the store
  /// failed (the SMTP side answers 451 and the sender retries).
  base::Result<FeedbackResult> process(const std::vector<std::string>& rcpts, std::string_view message);

 private:
  store::Store& store_;
  const base::Clock& clock_;
  FeedbackOptions o_;
};

}  // namespace sesame::delivery
