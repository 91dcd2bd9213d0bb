// The inbound feedback listener's backend ([smtp] feedback_listen): mail to the bounce
// domain (asynchronous DSNs, ARF complaint reports) goes to delivery::FeedbackProcessor.
// No AUTH: the session runs in inbound mode and takes only recipients the processor
// accepts.
#pragma once

#include "delivery/feedback.hpp"
#include "net/smtp_listener.hpp"

namespace sesame::app {

class FeedbackBackend : public net::SmtpBackend {
 public:
  explicit FeedbackBackend(delivery::FeedbackProcessor& processor) : p_(processor) {}
  smtp::AuthResult authenticate(const std::string&, const std::string&, const std::string&, std::string&) override {
    return smtp::AuthResult::kInvalid;  // never offered (inbound sessions have no AUTH)
  }
  smtp::Verdict deliver(const smtp::Envelope& envelope, std::string&& message, const std::string& user,
                        const std::string& ip) override;

 private:
  delivery::FeedbackProcessor& p_;
};

}  // namespace sesame::app
