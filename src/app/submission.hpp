// SMTP submission behind the listeners: SES SMTP credentials (reference §4.1) checked
// against the store, and every message through sending::accept(), its result mapped to
// an SMTP reply once, from a table (reference §4.3).
#pragma once

#include <string>

#include "net/smtp_listener.hpp"
#include "service/sending.hpp"
#include "service/services.hpp"

namespace sesame::app {

struct SubmissionSettings {
  std::string region = "us-east-1";
  std::string trusted_account;  // trusted networks send as this account
  std::size_t max_message_bytes = 40u << 20;
};

class Submission : public net::SmtpBackend {
 public:
  Submission(service::Services& services, SubmissionSettings settings) : s_(services), settings_(std::move(settings)) {}
  /// The principal is "<account id>/<access key id>".
  smtp::AuthResult authenticate(const std::string& username, const std::string& password, const std::string& ip,
                                std::string& principal) override;
  smtp::Verdict deliver(const smtp::Envelope& envelope, std::string&& message, const std::string& user,
                        const std::string& ip) override;
  void deliver_async(const smtp::Envelope& envelope, std::string&& message, const std::string& user, const std::string& ip,
                     std::function<void(smtp::Verdict)> done) override;

 private:
  /// The caller and the submission for a message, or the reply refusing it.
  base::Result<std::pair<service::Caller, service::Submission>> request(const smtp::Envelope& envelope, std::string&& message,
                                                                         const std::string& user, const std::string& ip);
  service::Services& s_;
  SubmissionSettings settings_;
};

/// The SMTP reply for sending::accept()'s result (the table of reference §4.3).
smtp::Verdict submission_reply(const base::Result<std::string>& accepted);

}  // namespace sesame::app
