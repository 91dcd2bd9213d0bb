// Content scanning for SES's Reject event (reference §6.3: reason "Bad content", a virus).
// Sesame has no virus database: it recognizes the EICAR anti-virus test file, in the
// message as written and inside base64-encoded parts, so the Reject path can be exercised
// the way anti-virus products are tested. A real scanner (ClamAV) would plug in here.
#pragma once

#include <string_view>

namespace sesame::mime {

/// True when the message carries the EICAR test signature (raw, or base64-encoded in a part).
bool carries_test_virus(std::string_view message);

}  // namespace sesame::mime
