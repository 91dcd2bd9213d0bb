// Delivery status notifications (RFC 3464): the multipart/report message mailed back to a
// sender whose mail bounced, when feedback forwarding is on. No I/O.
#pragma once

#include <string>
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

}  // namespace sesame::mime
