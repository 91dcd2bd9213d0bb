#include "app/feedback.hpp"

#include "base/log.hpp"

namespace sesame::app {

smtp::Verdict FeedbackBackend::deliver(const smtp::Envelope& envelope, std::string&& message, const std::string&,
                                       const std::string& ip) {
  auto r = p_.process(envelope.rcpt_to, message);
  if (!r.ok()) {
    // The store failed: the sender keeps the report and tries again later.
    base::log().warn("feedback from {}: cannot record it: {}", ip, r.error().message);
    return smtp::Verdict{451, "4.3.0", "Error: local error in processing, try again later"};
  }
  const auto& f = r.value();
  if (f.bounces + f.complaints > 0)
    base::log().info("feedback from {} about {}: {} bounce(s), {} complaint(s)", ip, f.message_id, f.bounces,
                     f.complaints);
  else
    base::log().info("feedback from {} (MAIL FROM <{}>): nothing recorded: {}", ip, envelope.mail_from, f.note);
  // Taken either way: a report about nothing of ours must not bounce back and forth.
  return smtp::Verdict{250, "2.0.0", "Ok: feedback received"};
}

}  // namespace sesame::app
