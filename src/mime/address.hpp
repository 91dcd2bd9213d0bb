// RFC 5322 §3.4 addresses: parsing address lists as they appear in To/Cc/Bcc/From
// (display names, quoted strings, comments, groups) and formatting a mailbox for a header.
// No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace sesame::mime {

struct Mailbox {
  std::string display_name;  // as written (quotes removed); may hold RFC 2047 words
  std::string address;       // local@domain
};

/// Parses an address list; kInvalidParameter (SES wording) for an element that is not a
/// valid mailbox. Bounded: at most `max_items` mailboxes.
base::Result<std::vector<Mailbox>> parse_address_list(std::string_view text, std::size_t max_items = 1000);
/// One mailbox (e.g. SES's Source "Name <a@b.com>").
base::Result<Mailbox> parse_mailbox(std::string_view text);
/// Checks an addr-spec as SES accepts it: ASCII, one '@', non-empty local part (<= 64),
/// a domain of valid labels. kInvalidParameter with SES's message otherwise.
base::Status check_address(std::string_view address);
/// "Display Name <a@b.com>" with the name quoted or RFC 2047-encoded as needed.
std::string format_mailbox(const Mailbox& m);

}  // namespace sesame::mime
