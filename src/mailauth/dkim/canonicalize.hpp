// DKIM canonicalization, RFC 6376 §3.4: "relaxed" and "simple" for header fields and
// bodies. Input is a message with CRLF line ends (bare LF is treated as CRLF, as mail
// is normalized to CRLF on the wire). No I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sesame::mailauth::dkim {

/// One header field as it appears in the message: name, and the raw value after the
/// colon including folding, without the final CRLF.
struct HeaderField {
  std::string name;
  std::string raw_value;
};

/// Splits a message at the first empty line into header fields and body (RFC 5322 §2.1).
/// A message without an empty line is all header. Obsolete or malformed lines without a
/// colon are kept as fields with an empty name so that nothing is silently dropped.
void split_message(std::string_view message, std::vector<HeaderField>& headers, std::string_view& body);

/// §3.4.2: lowercase name, unfold, collapse WSP runs to one SP, trim around the colon;
/// returns "name:value\r\n".
std::string relaxed_header(std::string_view name, std::string_view raw_value);
/// §3.4.4: trailing WSP on each line removed, WSP runs collapsed, trailing empty lines
/// removed; a non-empty result ends in CRLF.
std::string relaxed_body(std::string_view body);
/// §3.4.3: trailing empty lines reduced; an empty body becomes CRLF.
std::string simple_body(std::string_view body);

}  // namespace sesame::mailauth::dkim
