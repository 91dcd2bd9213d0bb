// The event outbox's publisher (reference §6; ARCHITECTURE decision 6). Events are written
// to the store's events table in the same transaction as the state change that caused
// them; this publisher follows that table in commit order from a durable cursor and hands
// each event to the matching event destinations of its configuration set.
//
// Built destination: Firehose-style files, one JSON record per line under
// <firehose_dir>/<stream>/<YYYY>/<MM>/<DD>/<HH>/, rotated by size and age, as Firehose
// lays records out in S3. A record is written and fsynced before the cursor moves past it:
// a crash or a failing disk delays events and may repeat some (at least once), but loses
// none and never reorders the events of a message. A stream that fails falls behind on a
// durable cursor of its own and is retried on its own backoff; the others go on. CloudWatch-style destinations are
// counters served in Prometheus' text format (metrics()), labelled with the destination's
// dimensions; they count from the start of the process, as Prometheus counters do.
// SNS destinations: each matching event becomes one SNS Notification per confirmed
// subscriber of the topic (events/webhooks.hpp), queued in the webhooks outbox in the same
// transaction that moves the cursor past the event, so a crash neither loses nor doubles
// them; a webhook that is down delays only its own subscription.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "events/webhooks.hpp"
#include "store/store.hpp"

namespace sesame::events {

/// A CloudWatch destination's dimension: its value comes from a message tag or an email
/// header of the event's message (or is the default).
struct Dimension {
  std::string name;
  std::string source;  // MESSAGE_TAG | EMAIL_HEADER | LINK_TAG
  std::string default_value;
};

/// One event destination of a configuration set, as far as publishing needs it.
struct Destination {
  std::string name;
  bool enabled = false;
  std::vector<std::string> matching;  // v2 spellings: SEND, DELIVERY, RENDERING_FAILURE …
  std::string firehose_stream;        // the DeliveryStreamArn's name; empty: not Firehose
  bool cloudwatch = false;            // counted in metrics() with these dimensions
  std::vector<Dimension> dimensions;
  std::string sns_topic_arn;          // empty: not SNS
};

/// The destinations of (account, region, configuration set). An error means "could not
/// tell": the publisher retries later, it never skips.
using DestinationLookup = std::function<base::Result<std::vector<Destination>>(
    const std::string& account, const std::string& region, const std::string& configuration_set)>;

struct PublisherOptions {
  std::string firehose_dir;           // files go here
  double poll_seconds = 0.2;          // how soon a new event is published (the wait after any pass that was not full)
  std::size_t batch = 1000;           // events per pass (one fsync per touched file)
  std::size_t rotate_bytes = 8u << 20;
  double rotate_seconds = 300;
  double max_backoff_seconds = 60;    // after failures (a pass, or one stream): 1, 2, 4 … up to this, for as long as it takes
  TopicLookup topics;                 // SNS destinations' topics; unset: SNS destinations are skipped
  /// Identity notifications (SetIdentityNotificationTopic): the topic an identity has for a
  /// notification type (Bounce, Complaint, Delivery), and whether headers go with it.
  std::function<base::Result<std::optional<std::pair<Topic, bool>>>(
      const std::string& account, const std::string& region, const std::string& identity, const std::string& type)>
      identity_topics;
  std::function<void()> queued_webhooks;  // called after a pass queued webhook deliveries
};

/// An event record in the identity-notification form (reference §6.4): notificationType
/// instead of eventType, no tags, sourceIp and callerIdentity in `mail`, and the headers
/// only when `with_headers`.
std::string notification_form(const std::string& event_json, bool with_headers);

/// The SNS Subject of event-publishing notifications.
inline constexpr const char* kEventSubject = "Amazon SES Email Event Notification";

/// SES's eventType in MatchingEventTypes' spelling: "Send" → "SEND", "DeliveryDelay" →
/// "DELIVERY_DELAY", "Rendering Failure" → "RENDERING_FAILURE".
std::string matching_type(const std::string& event_type);

/// The name in a Firehose delivery stream ARN ("arn:aws:firehose:…:deliverystream/NAME"),
/// reduced to [A-Za-z0-9._-] so it is safe as a directory name; empty when there is none.
std::string stream_name(const std::string& delivery_stream_arn);

class Publisher {
 public:
  Publisher(store::Store& store, const base::Clock& clock, DestinationLookup lookup, PublisherOptions options);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  /// Starts the publishing thread.
  base::Status start();
  /// Publishes what is committed, then stops the thread (files closed, cursor saved).
  void stop();
  /// One pass: publishes up to `batch` events after the cursor; returns how many were
  /// looked at (0: nothing new).
  base::Result<std::size_t> publish_once();
  /// The CloudWatch-style counters, in Prometheus' text exposition format.
  std::string metrics() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sesame::events
