// Verifying email-address identities as SES does: VerifyEmailIdentity, VerifyEmailAddress
// and v2 CreateEmailIdentity for an address send a mail with a one-time link; opening it
// (within 24 hours) marks the identity verified. The mail goes through the same durable
// queue and delivery as any other, from Settings::system_sender. Only a hash of the link's
// token is stored.
#pragma once

#include <string>

#include "service/services.hpp"

namespace sesame::service {

/// Sends (or, in capture mode, captures) a verification mail for `address` and records the
/// token's hash and time in its identity document. Nothing is sent for a verified address,
/// nor within a minute of the previous mail.
base::Status send_verification_email(Services& s, const Caller& c, const std::string& address);

/// What opening a link did: kInvalidParameter (no such identity, or not its current token),
/// kRejected (older than 24 hours); success marks the identity verified (opening it again
/// succeeds again). Reads first: an invalid link writes nothing.
base::Status confirm_verification_link(Services& s, const std::string& account, const std::string& region,
                                       const std::string& identity, const std::string& token);

/// Mail from the system itself (no identity checks, no quota, no events): built, committed
/// and handed to delivery like any message. Returns its message id.
base::Result<std::string> send_system_mail(Services& s, const std::string& region, const std::string& to,
                                           const std::string& subject, const std::string& text);

}  // namespace sesame::service
