// Builds the MIME message for SES "Simple" content (v1 SendEmail, v2 SendEmail with
// Content.Simple): RFC 5322 headers (RFC 2047 words for non-ASCII text), text and/or HTML
// bodies (multipart/alternative, RFC 2046 §5.1.4), v2 attachments (multipart/mixed, inline
// parts with a Content-ID under multipart/related), custom headers. No I/O.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "mime/address.hpp"

namespace sesame::mime {

struct TextPart {
  std::string data;
  std::string charset = "UTF-8";
};

struct Attachment {
  std::string file_name;
  std::string content_type;              // empty: guessed from the file name
  bool inline_disposition = false;       // INLINE vs ATTACHMENT
  std::string content_id;                // for cid: references (without <>)
  std::string description;
  std::string transfer_encoding = "base64";  // base64 | quoted-printable | 7bit
  std::string raw;                       // decoded bytes
};

struct SimpleMessage {
  Mailbox from;  // no From header when its address is empty (TestRenderTemplate)
  std::vector<Mailbox> to, cc, reply_to;
  TextPart subject;
  std::optional<TextPart> text, html;
  std::vector<std::pair<std::string, std::string>> headers;  // custom headers, in order
  std::vector<Attachment> attachments;
  std::string message_id;  // without angle brackets
  base::EpochSeconds date = 0;
};

/// The message with CRLF line ends. kInvalidParameter (SES's InvalidParameterValue) for
/// header injection (CR/LF in a header value), a custom header that Sesame sets itself,
/// a bad header name, or a charset other than a token.
base::Result<std::string> build_simple(const SimpleMessage& m);

/// "Mon, 15 Jan 2024 12:00:00 +0000" (RFC 5322 §3.3, UTC).
std::string rfc5322_date(base::EpochSeconds t);

}  // namespace sesame::mime
