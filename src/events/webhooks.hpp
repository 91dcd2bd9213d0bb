// SNS-style HTTP(S) webhooks (reference §6.5): what SNS subscribers receive, signed, from
// a durable outbox (the store's webhooks table), retried with backoff for as long as the
// configured retention (at least 24 hours), in order per subscription.
//
// A delivery row holds the message's fields (Type, MessageId, TopicArn, Subject, Message,
// Timestamp, Token …) fixed when it was queued; the deliverer adds the links (SubscribeURL,
// UnsubscribeURL, SigningCertURL), signs (SignatureVersion 1: SHA1withRSA, 2:
// SHA256withRSA, over SNS's string to sign) and POSTs with SNS's headers. A retry sends the
// same MessageId and the same signature. Endpoint answers: 2xx-4xx end the delivery (SNS
// retries only server errors, timeouts and connection failures); a failure holds the
// subscription's later deliveries back (FIFO) and retries it at 1 s, 2 s, 4 s … up to the
// maximum backoff, until the delivery is older than the retention; then it is dropped
// with a warning.
//
// Sockets are not this room's: the HTTP POST is a function the caller provides.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "store/store.hpp"

namespace sesame::events {

/// One HTTP POST's outcome: the status (0 when none came back) or why not.
struct PostResult {
  int status = 0;
  std::string error;
};
using HttpPost = std::function<PostResult(const std::string& url,
                                          const std::vector<std::pair<std::string, std::string>>& headers,
                                          const std::string& body, double timeout_seconds)>;

/// The key that signs notifications and its certificate (served at SigningCertURL).
class SnsSigner {
 public:
  /// Loads a PEM private key (RSA) and its PEM certificate.
  static base::Result<std::unique_ptr<SnsSigner>> load(const std::string& key_file, const std::string& cert_file);
  ~SnsSigner();
  SnsSigner(const SnsSigner&) = delete;
  SnsSigner& operator=(const SnsSigner&) = delete;

  /// Base64 RSA signature of `text`: SHA1 for version 1, SHA256 for version 2.
  base::Result<std::string> sign(const std::string& text, int version) const;
  const std::string& certificate_pem() const { return cert_pem_; }
  /// "SimpleNotificationService-<32 hex>.pem", the hex from the certificate's digest.
  const std::string& certificate_name() const { return cert_name_; }

 private:
  SnsSigner() = default;
  void* key_ = nullptr;  // EVP_PKEY*
  std::string cert_pem_, cert_name_;
};

/// What an SNS subscriber needs for fan-out: its ARN, endpoint and raw-delivery flag.
struct Subscriber {
  std::string arn;
  std::string endpoint;
  bool raw = false;
};

/// A topic as publishing needs it; nullopt from the lookup: no such topic.
struct Topic {
  std::string arn;
  int signature_version = 1;
  std::vector<Subscriber> subscribers;  // confirmed ones
};
using TopicLookup = std::function<base::Result<std::optional<Topic>>(
    const std::string& account, const std::string& region, const std::string& topic_arn)>;

/// The delivery rows of one SNS publish: one Notification per confirmed subscriber, all
/// with the same MessageId and timestamp (as SNS fans out one message).
std::vector<store::WebhookDelivery> sns_notifications(const Topic& topic, const std::string& subject,
                                                      const std::string& message, base::EpochSeconds now,
                                                      std::string* message_id = nullptr);

/// The SubscriptionConfirmation (or UnsubscribeConfirmation) for a subscription.
store::WebhookDelivery sns_confirmation(const std::string& type, const std::string& topic_arn, int signature_version,
                                        const Subscriber& subscriber, const std::string& token,
                                        base::EpochSeconds now);

/// SNS's string to sign for a message body (reference §6.5): the signed keys, in order, as
/// "name\nvalue\n".
std::string sns_string_to_sign(const std::string& type, const std::vector<std::pair<std::string, std::string>>& fields);

struct WebhookOptions {
  std::string public_url;               // base of SubscribeURL, UnsubscribeURL, SigningCertURL
  std::string cert_path = "/_sesame/sns/";  // where the certificate is served under public_url
  double poll_seconds = 0.5;
  double timeout_seconds = 15;          // per attempt, as SNS
  double max_backoff_seconds = 60;
  double retention_seconds = 3 * 86400; // a delivery is retried this long (>= 24 h)
  std::size_t batch = 100;              // per subscription per turn
  int threads = 4;                      // subscriptions served at once
};

class WebhookDeliverer {
 public:
  WebhookDeliverer(store::Store& store, const base::Clock& clock, const SnsSigner& signer, HttpPost post,
                   WebhookOptions options);
  ~WebhookDeliverer();
  WebhookDeliverer(const WebhookDeliverer&) = delete;
  WebhookDeliverer& operator=(const WebhookDeliverer&) = delete;

  void start();
  /// Finishes the attempts in flight, then stops.
  void stop();
  /// Something was queued: look now rather than at the next poll.
  void wake();
  /// The request a delivery row becomes (headers and body), signed; for tests and the
  /// deliverer itself.
  base::Result<std::pair<std::vector<std::pair<std::string, std::string>>, std::string>> request_for(
      const store::WebhookDelivery& delivery) const;
  /// One turn over every subscription that is due (synchronous, for tests); returns how
  /// many deliveries were completed.
  std::size_t deliver_once();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sesame::events
