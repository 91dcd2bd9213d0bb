// The SNS-compatible API (topics, HTTP/HTTPS subscriptions, Publish) that SNS event
// destinations and identity notification topics point at, and the topic lookup the event
// publisher fans out with. Deliveries go to the webhooks outbox (events/webhooks.hpp).
#pragma once

#include <optional>
#include <string>

#include "events/webhooks.hpp"
#include "service/documents.hpp"

namespace sesame::service {

/// The topic an ARN names in the caller's account and region, with its confirmed
/// subscribers; nullopt when there is no such topic (or the ARN is another account's).
base::Result<std::optional<events::Topic>> sns_topic(DocTxn& t, const Caller& c, const std::string& topic_arn);

/// For events::PublisherOptions::topics.
events::TopicLookup sns_topic_lookup(Services& services);

/// For events::PublisherOptions::identity_topics: the identity's topic for a notification
/// type (SetIdentityNotificationTopic) with its confirmed subscribers, and whether headers
/// are included (SetIdentityHeadersInNotificationsEnabled).
std::function<base::Result<std::optional<std::pair<events::Topic, bool>>>(
    const std::string& account, const std::string& region, const std::string& identity, const std::string& type)>
identity_topic_lookup(Services& services);

/// The message SES publishes to a topic when an SNS event destination is created.
inline constexpr const char* kSnsProbeMessage = "Successfully validated SNS topic for Amazon SES event publishing.";

}  // namespace sesame::service
