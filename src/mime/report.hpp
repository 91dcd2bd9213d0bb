// Feedback that comes back to the bounce domain (reference §6.3): delivery status
// notifications (RFC 3464 multipart/report; report-type=delivery-status, and the common
// non-standard forms: DSN fields in a plain body, qmail's "<address>:" paragraphs) and
// complaint reports (RFC 5965 ARF, report-type=feedback-report). Parsing only: which
// recipients failed and how, the complaint's fields, and the original message's headers
// that lead back to it. No I/O; bounded by ReportLimits.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace sesame::mime {

struct ReportLimits {
  std::size_t max_bytes = 10u << 20;
  std::size_t max_line = 16384;   // remote MTAs write long Diagnostic-Code lines
  std::size_t max_recipients = 100;
  std::size_t max_parts = 20;
};

struct ReportRecipient {
  std::string address;     // Final-Recipient (or Original-Recipient), lower-case
  std::string action;      // failed, delayed, delivered, relayed, expanded
  std::string status;      // "5.1.1"
  std::string diagnostic;  // "smtp; 550 5.1.1 user unknown"
  std::string remote_mta;  // "dns; mx.example.net"
};

struct Report {
  enum Kind { kNone, kDsn, kArf } kind = kNone;
  bool standard = false;             // a real multipart/report (else a non-standard form)
  std::string reporting_mta;         // "dns; mx.example.net"
  std::vector<ReportRecipient> recipients;  // DSN
  // ARF (RFC 5965 §3.1).
  std::string feedback_type;         // abuse, fraud, virus, other, not-spam, auth-failure
  std::string user_agent;
  std::string arrival_date;          // as written
  std::vector<std::string> original_rcpt_to;  // lower-case
  // The reported message, from its headers (message/rfc822 or text/rfc822-headers part).
  std::string original_message_id;  // without angle brackets
  std::vector<std::string> original_to;
  bool auto_reply = false;           // Auto-Submitted: auto-replied (or Precedence: auto_reply)
};

/// What `message` reports. kInvalidParameter only when it is not a message at all (too
/// large, NUL bytes, no header); a message that reports nothing is kind kNone.
base::Result<Report> parse_report(std::string_view message, const ReportLimits& limits = {});

}  // namespace sesame::mime
