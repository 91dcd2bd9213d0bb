// Delivery status notifications (RFC 3464): the multipart/report message mailed back to a
// sender whose mail bounced, when feedback forwarding is on. No I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"

namespace sesame::mime {

struct DsnRecipient {
  std::string address;
  std::string status;       // "5.1.1"
  std::string remote_mta;   // host name, may be empty
  std::string diagnostic;   // the remote reply, "550 5.1.1 user unknown"
};

struct Dsn {
  std::string from;           // MAILER-DAEMON@<bounce domain>
  std::string to;             // the original sender
  std::string reporting_mta;  // this host's name
  std::string message_id;     // of the DSN itself, without angle brackets
  std::string original_headers;  // the bounced message's header block (CRLF lines)
  base::EpochSeconds arrival = 0, now = 0;
  std::vector<DsnRecipient> recipients;
};

/// The DSN message, CRLF line ends. Values are stripped of CR/LF so remote text cannot add
/// headers or fields.
std::string build_dsn(const Dsn& d);

/// A complaint report (RFC 5965 ARF) about one of our messages, as SES forwards complaints
/// to the sender when email feedback forwarding is on.
struct Arf {
  std::string from;           // complaints@<bounce domain>
  std::string to;             // the original sender
  std::string message_id;     // of the report itself, without angle brackets
  std::string feedback_type = "abuse";
  std::string user_agent;
  std::string original_mail_from, original_rcpt_to;
  std::string original_headers;  // the reported message's header block (CRLF lines)
  base::EpochSeconds arrival = 0, now = 0;
};
std::string build_arf(const Arf& a);

/// A report received from outside (a DSN or an ARF complaint) forwarded to the original
/// sender: new From, To, Subject, Date and Message-ID; its MIME body, Content-Type and
/// transfer encoding kept. Empty when `report` is not a message.
std::string forward_report(std::string_view report, const std::string& from, const std::string& to,
                           const std::string& subject, const std::string& message_id, base::EpochSeconds now);

}  // namespace sesame::mime
