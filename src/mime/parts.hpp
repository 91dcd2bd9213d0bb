// MIME structure (RFC 2045/2046) as far as Sesame needs it: a Content-Type's media type and
// parameters, the parts of a multipart body, and the rewriting of a message's HTML parts
// (open and click tracking of raw messages, as SES does for SendRawEmail and SMTP). No I/O;
// bounded for hostile input (nesting depth, part count).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mime/raw_message.hpp"

namespace sesame::mime {

/// A Content-Type's type/subtype, lower-case ("text/plain; charset=x" -> "text/plain").
std::string media_type(std::string_view content_type);
/// One parameter's value (quotes and quoting backslashes removed); "" when absent.
std::string content_param(std::string_view content_type, std::string_view name);

/// The parts of a multipart body (RFC 2046 §5.1.1), at most `max`, as views into `body`:
/// the bytes between delimiter lines (the CRLF before a delimiter belongs to it). Without a
/// closing delimiter the rest is the last part (senders do get this wrong). None for an
/// empty or overlong (> 200) boundary.
std::vector<std::string_view> parts_of(std::string_view body, std::string_view boundary, std::size_t max);

struct PartLimits {
  std::size_t max_depth = 16;   // multipart nesting
  std::size_t max_parts = 500;  // parts walked in the whole message
};

/// Hands the decoded text of every text/html entity that is not an attachment (the
/// message's own body when it is one, and parts of multiparts, nested or not; never inside
/// an attached message/rfc822, nor under a multipart/signed whose signature the edit would
/// break, nor multipart/encrypted) to `edit`, and puts the result back re-encoded:
/// quoted-printable (Content-Transfer-Encoding set to it), or base64 when it came as base64.
/// Entities `edit` leaves as they were keep their bytes; so do the ones that cannot be read
/// (an unknown transfer encoding, a UTF-16/32 charset, a multipart without a boundary, past
/// the limits). Returns how many entities changed.
std::size_t edit_html_parts(RawMessage& message, const std::function<std::string(std::string_view)>& edit,
                            const PartLimits& limits = {});

}  // namespace sesame::mime
