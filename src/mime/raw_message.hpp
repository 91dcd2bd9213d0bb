// A raw RFC 5322 message as SES's SendRawEmail and SMTP see it (reference §4.4): header
// fields and body, the X-SES-* directives taken out, headers SES allows once checked,
// envelope recipients from To/Cc/Bcc, Bcc stripped, Message-ID and Date replaced. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "mime/address.hpp"

namespace sesame::mime {

struct HeaderLine {
  std::string name;   // as written
  std::string value;  // raw, after the colon, folding kept (CRLF + WSP)
};

struct RawMessage {
  std::vector<HeaderLine> headers;
  std::string body;  // after the blank line, CRLF line ends
};

struct RawLimits {
  std::size_t max_bytes = 40u << 20;  // SES v2/SMTP: 40 MB
  std::size_t max_line = 998;         // RFC 5322 §2.1.1 (1,000 with CRLF)
  std::size_t max_headers = 1000;
};

/// Parses a message (bare LF accepted, normalized to CRLF). kInvalidParameter with SES's
/// wording for: too large, a line over 1,000 characters, NUL bytes, a header line without
/// a colon or with an invalid name.
base::Result<RawMessage> parse_raw(std::string_view message, const RawLimits& limits = {});
std::string serialize(const RawMessage& m);

/// The first value of a header (case-insensitive name), unfolded and trimmed.
std::optional<std::string> header(const RawMessage& m, std::string_view name);
void remove_header(RawMessage& m, std::string_view name);
/// Removes every instance and puts one at the top.
void replace_header(RawMessage& m, const std::string& name, const std::string& value);

/// SES allows these once (reference §4.4); "Duplicate header 'Message-ID'." otherwise.
base::Status check_single_headers(const RawMessage& m);

struct SesDirectives {
  std::optional<std::string> configuration_set;
  std::vector<std::pair<std::string, std::string>> tags;
  std::optional<std::string> source_arn, from_arn, return_path_arn;
  std::optional<std::string> list_management;
  std::optional<std::string> tenant;
};
/// Takes the X-SES-* headers out of the message (first instance wins, as SES does) and
/// validates the tags (names [A-Za-z0-9_-], values [A-Za-z0-9_.@-], at most 255 each).
base::Result<SesDirectives> take_ses_directives(RawMessage& m);

/// To, Cc and Bcc mailboxes, in that order (the envelope when Destinations are omitted).
base::Result<std::vector<Mailbox>> header_recipients(const RawMessage& m);

}  // namespace sesame::mime
