// Verifying email-address identities as SES does: VerifyEmailIdentity, VerifyEmailAddress
// and v2 CreateEmailIdentity for an address send a mail with a one-time link; opening it
// (within 24 hours) marks the identity verified. The mail goes through the same durable
// queue and delivery as any other, from Settings::system_sender. Only a hash of the link's
// token is stored.
#pragma once

#include <optional>
#include <string>

#include "service/services.hpp"

namespace sesame::service {

/// A custom verification email template's mail (SendCustomVerificationEmail): its sender,
/// subject and HTML, to which the link and a disclaimer are appended (as SES does), and where
/// the browser goes after the link is opened.
struct CustomVerification {
  std::string from, subject, html;
  std::string success_url, failure_url;
};

/// Sends (or, in capture mode, captures) a verification mail for `address` and records the
/// token's hash and time in its identity document; returns the mail's message id. Sesame's
/// own mail is not sent for a verified address (empty id), and no mail is sent within a
/// minute of the previous one (empty id; kThrottled for a custom mail).
base::Result<std::string> send_verification_email(Services& s, const Caller& c, const std::string& address,
                                                  const CustomVerification* custom = nullptr);

/// What opening a link did: kInvalidParameter (no such identity, or not its current token),
/// kRejected (older than 24 hours); success marks the identity verified (opening it again
/// succeeds again). Reads first: an invalid link writes nothing. `redirect` gets the custom
/// template's success or failure URL when the link came from one.
base::Status confirm_verification_link(Services& s, const std::string& account, const std::string& region,
                                       const std::string& identity, const std::string& token,
                                       std::string* redirect = nullptr);

/// Mail from the system itself (no identity checks, no quota, no events): built, committed
/// and handed to delivery like any message. Returns its message id. `from` defaults to
/// Settings::system_sender.
base::Result<std::string> send_system_mail(Services& s, const std::string& region, const std::string& to,
                                           const std::string& subject, const std::string& text,
                                           const std::optional<std::string>& html = std::nullopt,
                                           const std::string& from = "");

}  // namespace sesame::service
