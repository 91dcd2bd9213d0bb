// SMTP submission: credentials and the one accept path; see submission.hpp.
#include "app/submission.hpp"

#include "base/log.hpp"
#include "service/sending.hpp"
#include "service/smtp_credentials.hpp"

namespace sesame::app {
namespace {
using base::ErrorCode;

struct Row {
  ErrorCode code;
  const char* subject;  // nullptr: any
  int smtp;
  const char* enhanced;
  const char* prefix;  // before the error's message; nullptr: the fixed text alone
  const char* fixed;
};

// SES's SMTP replies (reference §4.3). The enhanced codes are shown only when the
// listener advertises ENHANCEDSTATUSCODES ([smtp] enhanced_status_codes).
constexpr Row kReplies[] = {
    {ErrorCode::kThrottled, nullptr, 454, "4.7.0", "Throttling failure: ", nullptr},
    {ErrorCode::kRejected, nullptr, 554, "5.7.1", "Message rejected: ", nullptr},
    {ErrorCode::kPaused, "configuration-set", 554, "5.7.1", "Configuration set sending paused: ", nullptr},
    {ErrorCode::kPaused, nullptr, 554, "5.7.1", "Account sending paused: ", nullptr},
    {ErrorCode::kNotFound, "configuration-set", 554, "5.3.0", "Configuration Set does not exist: ", nullptr},
    {ErrorCode::kUnavailable, nullptr, 451, "4.3.0", nullptr, "Temporary service failure"},
    {ErrorCode::kInternal, nullptr, 451, "4.3.0", nullptr, "Temporary service failure"},
};
}  // namespace

smtp::Verdict submission_reply(const base::Result<std::string>& accepted) {
  // "250 Ok <id>" exactly, without an enhanced code: nodemailer reads the MessageId from it.
  if (accepted.ok()) return smtp::Verdict{250, "", "Ok " + accepted.value()};
  const base::Error& e = accepted.error();
  if (e.code == ErrorCode::kInvalidParameter && e.message.rfind("Message length is more than", 0) == 0)
    return smtp::Verdict{552, "5.3.4", "Message is too long."};
  for (const Row& r : kReplies) {
    if (r.code != e.code || (r.subject && e.subject != r.subject)) continue;
    std::string text = r.prefix ? std::string(r.prefix) + e.message : std::string(r.fixed);
    // One reply line (RFC 5321 §4.5.3.1.5); SES ends a truncated identity list in "...".
    if (text.size() > 400) text = text.substr(0, 397) + "...";
    return smtp::Verdict{r.smtp, r.enhanced, text};
  }
  // Content SES refuses (duplicate headers, no From, bad addresses...).
  return smtp::Verdict{554, "5.6.0", "Transaction failed: " + e.message};
}

smtp::AuthResult Submission::authenticate(const std::string& username, const std::string& password, const std::string& ip,
                                          std::string& principal) {
  auto key = s_.store.find_access_key(username);
  if (!key.ok()) {
    base::log().error("smtp: cannot check credentials for {}: {}", ip, key.error().message);
    return smtp::AuthResult::kTemporary;
  }
  if (!key.value()) {
    base::log().info("smtp: AUTH from {} with an unknown access key", ip);
    return smtp::AuthResult::kInvalid;
  }
  switch (service::check_smtp_password(key.value()->secret, settings_.region, password)) {
    case service::SmtpPasswordCheck::kMatch:
      principal = key.value()->account_id + "/" + username;
      return smtp::AuthResult::kOk;
    case service::SmtpPasswordCheck::kLegacyV2:
      base::log().info("smtp: AUTH from {} for {} with a version 2 password (deprecated by SES, refused)", ip, username);
      return smtp::AuthResult::kInvalid;
    case service::SmtpPasswordCheck::kMismatch:
      break;
  }
  base::log().info("smtp: AUTH from {} for {} failed", ip, username);
  return smtp::AuthResult::kInvalid;
}

base::Result<std::pair<service::Caller, service::Submission>> Submission::request(const smtp::Envelope& envelope,
                                                                                    std::string&& message,
                                                                                    const std::string& user,
                                                                                    const std::string& ip) {
  service::Caller caller;
  caller.region = settings_.region;
  caller.source_ip = ip;
  if (user.empty()) {
    caller.account_id = settings_.trusted_account;
    caller.access_key_id = "smtp-trusted-network";
  } else {
    const std::size_t slash = user.find('/');  // the principal authenticate() gave
    if (slash == std::string::npos) return base::make_error(ErrorCode::kInternal, "malformed SMTP principal");
    caller.account_id = user.substr(0, slash);
    caller.access_key_id = user.substr(slash + 1);
  }
  service::Submission sub;
  sub.operation = "SendRawEmail";
  sub.source = envelope.mail_from;  // empty (<>): the From header is the source
  sub.to = envelope.rcpt_to;
  sub.raw = std::move(message);
  sub.max_bytes = settings_.max_message_bytes;
  return std::pair{std::move(caller), std::move(sub)};
}

namespace {
smtp::Verdict logged_reply(const base::Result<std::string>& accepted, const std::string& ip, const std::string& sender) {
  if (!accepted.ok()) {
    const auto& e = accepted.error();
    if (e.code == ErrorCode::kInternal || e.code == ErrorCode::kUnavailable)
      base::log().error("smtp: message from {} ({}) not accepted: {}", ip, sender, e.message);
    else
      base::log().debug("smtp: message from {} ({}) refused: {}", ip, sender, e.message);
  }
  return submission_reply(accepted);
}
}  // namespace

smtp::Verdict Submission::deliver(const smtp::Envelope& envelope, std::string&& message, const std::string& user,
                                  const std::string& ip) {
  auto req = request(envelope, std::move(message), user, ip);
  if (!req.ok()) return logged_reply(req.error(), ip, envelope.mail_from);
  service::Sending sending(s_);
  return logged_reply(sending.accept(req.value().first, std::move(req.value().second)), ip, envelope.mail_from);
}

void Submission::deliver_async(const smtp::Envelope& envelope, std::string&& message, const std::string& user,
                               const std::string& ip, std::function<void(smtp::Verdict)> done) {
  auto req = request(envelope, std::move(message), user, ip);
  if (!req.ok()) return done(logged_reply(req.error(), ip, envelope.mail_from));
  service::Sending sending(s_);
  sending.accept_async(req.value().first, std::move(req.value().second),
                       [done = std::move(done), ip, sender = envelope.mail_from](base::Result<std::string> accepted) {
                         done(logged_reply(accepted, ip, sender));
                       });
}

}  // namespace sesame::app
