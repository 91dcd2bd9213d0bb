// The SNS-compatible API (see sns.hpp). Topics and subscriptions are documents
// (sns-topic by topic name, sns-subscription by subscription id); what endpoints receive
// is queued in the webhooks outbox in the same transaction as the change that causes it
// (Subscribe → SubscriptionConfirmation, Unsubscribe → UnsubscribeConfirmation, Publish →
// one Notification per confirmed subscriber).
//
// Differences from SNS, on purpose: only http and https subscriptions (the protocols
// webhooks use); no FIFO topics, filter policies or SMS/mobile targets (refused with
// InvalidParameter, never silently ignored); topics default to SignatureVersion 2.
#include "service/sns.hpp"

#include <algorithm>

#include "base/encoding.hpp"
#include "base/ids.hpp"
#include "base/log.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
using base::Result;

constexpr std::size_t kMaxTopics = 10000;
constexpr std::size_t kMaxSubscriptionsPerTopic = 1000;
constexpr std::size_t kMaxMessageBytes = 256 * 1024;
constexpr double kTokenLifetime = 3 * 86400;  // SNS: a confirmation token is valid for 3 days

base::Error invalid(const std::string& what) {
  return base::make_error(ErrorCode::kInvalidParameter, "Invalid parameter: " + what);
}
base::Error not_found(const std::string& what) { return base::make_error(ErrorCode::kNotFound, what); }

std::string topic_arn(const Caller& c, const std::string& name) {
  return "arn:aws:sns:" + c.region + ":" + c.account_id + ":" + name;
}

bool valid_topic_name(const std::string& n) {
  if (n.empty() || n.size() > 256) return false;
  return std::all_of(n.begin(), n.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  });
}

/// The topic name in a topic ARN of the caller's account and region.
std::optional<std::string> topic_name_of(const Caller& c, const std::string& arn) {
  auto p = base::split(arn, ':');
  if (p.size() != 6 || p[0] != "arn" || p[1] != "aws" || p[2] != "sns" || p[3] != c.region || p[4] != c.account_id ||
      !valid_topic_name(p[5]))
    return std::nullopt;
  return p[5];
}

/// (topic name, subscription id) of a subscription ARN of the caller's account and region.
std::optional<std::pair<std::string, std::string>> subscription_of(const Caller& c, const std::string& arn) {
  auto p = base::split(arn, ':');
  if (p.size() != 7 || p[0] != "arn" || p[1] != "aws" || p[2] != "sns" || p[3] != c.region || p[4] != c.account_id ||
      !valid_topic_name(p[5]) || p[6].empty() || p[6].size() > 64)
    return std::nullopt;
  return std::make_pair(p[5], p[6]);
}

int signature_version(const json& topic) {
  return topic.value("Attributes", json::object()).value("SignatureVersion", "2") == "1" ? 1 : 2;
}

/// SNS deletes a subscription that was not confirmed within the token's three days; here it
/// is treated as gone from then on and removed at the next Subscribe on its topic.
bool expired_pending(const json& sub, double now) {
  return !sub.value("Confirmed", false) && now > sub.value("TokenExpires", 0.0);
}

events::Subscriber subscriber_of(const std::string& arn, const json& sub) {
  return events::Subscriber{arn, sub.value("Endpoint", ""), sub.value("RawMessageDelivery", false)};
}

Result<json> topic_or_missing(DocTxn& t, const std::string& name) {
  SESAME_ASSIGN(auto d, t.get(kind::kSnsTopic, name));
  if (!d) return not_found("Topic does not exist");
  return *d;
}

/// Topic attributes a caller may set, with a check of the value.
base::Status check_topic_attribute(const std::string& name, const std::string& value) {
  if (name == "SignatureVersion") {
    if (value != "1" && value != "2") return invalid("Attributes Reason: SignatureVersion must be 1 or 2");
    return base::ok_status();
  }
  if (name == "DisplayName") {
    if (value.size() > 100) return invalid("Attributes Reason: DisplayName is at most 100 characters");
    return base::ok_status();
  }
  if (name == "Policy" || name == "DeliveryPolicy" || name == "TracingConfig" || name == "KmsMasterKeyId") {
    if (value.size() > 30720) return invalid("Attributes Reason: " + name + " is too long");
    return base::ok_status();
  }
  if (name == "FifoTopic" || name == "ContentBasedDeduplication")
    return invalid("Attributes Reason: Sesame does not support FIFO topics");
  return invalid("AttributeName");
}

std::string default_policy(const std::string& arn, const std::string& account) {
  json p = {{"Version", "2008-10-17"},
            {"Id", "__default_policy_ID"},
            {"Statement",
             json::array({{{"Sid", "__default_statement_ID"},
                           {"Effect", "Allow"},
                           {"Principal", {{"AWS", "*"}}},
                           {"Action", json::array({"SNS:GetTopicAttributes", "SNS:SetTopicAttributes",
                                                   "SNS:AddPermission", "SNS:RemovePermission", "SNS:DeleteTopic",
                                                   "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"})},
                           {"Resource", arn},
                           {"Condition", {{"StringEquals", {{"AWS:SourceOwner", account}}}}}}})}};
  return p.dump();
}

std::string delivery_policy() {
  return R"({"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":60,"numRetries":100000,)"
         R"("numMaxDelayRetries":100000,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"exponential"},)"
         R"("disableSubscriptionOverrides":false}})";
}

class Sns {
 public:
  explicit Sns(Services& s) : s_(s), docs_(s) {}

  Result<json> create_topic(const Caller& c, const json& in) {
    const std::string name = str(in, "Name");
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".fifo") == 0)
      return invalid("Name Reason: Sesame does not support FIFO topics");
    if (!valid_topic_name(name))
      return invalid("Topic Name");
    json attrs = json::object();
    const json given = in.value("Attributes", json::object());
    for (const auto& [k, v] : given.items()) {
      const std::string value = v.is_string() ? v.get<std::string>() : std::string();
      SESAME_CHECK(check_topic_attribute(k, value));
      attrs[k] = value;
    }
    const json tags = in.value("Tags", json::array());
    if (tags.size() > 50) return base::make_error(ErrorCode::kInvalidParameter, "Could not complete request: tag quota of per resource exceeded");
    SESAME_CHECK(docs_.transact(c, [&](DocTxn& t) -> base::Status {
      SESAME_ASSIGN(auto existing, t.get(kind::kSnsTopic, name));
      if (existing) {
        // SNS: creating an existing topic returns it, unless the attributes differ.
        for (const auto& [k, v] : attrs.items())
          if ((*existing)["Attributes"].value(k, std::string()) != v.get<std::string>())
            return invalid("Attributes Reason: Topic already exists with different attributes");
        return base::ok_status();
      }
      auto all = s_.store.list(c.account_id, c.region, kind::kSnsTopic, {}, kMaxTopics + 1);
      if (!all.ok()) return all.error();
      if (all.value().size() >= kMaxTopics)
        return base::make_error(ErrorCode::kLimitExceeded, "Topic limit exceeded", "topic");
      return t.put(kind::kSnsTopic, name, json{{"Name", name}, {"Attributes", attrs}, {"Tags", tags}});
    }));
    return json{{"TopicArn", topic_arn(c, name)}};
  }

  Result<json> delete_topic(const Caller& c, const json& in) {
    auto name = topic_name_of(c, str(in, "TopicArn"));
    if (!name) return not_found("Topic does not exist");
    SESAME_ASSIGN(auto subs, docs_.all(c, kind::kSnsSubscription));
    SESAME_CHECK(docs_.transact(c, [&](DocTxn& t) -> base::Status {
      SESAME_CHECK(t.erase(kind::kSnsTopic, *name));
      for (const auto& s : subs) {
        if (s.doc.value("TopicName", "") != *name) continue;
        SESAME_CHECK(t.erase(kind::kSnsSubscription, s.name));
        SESAME_CHECK(t.txn().delete_webhooks_of(s.doc.value("SubscriptionArn", "")));
      }
      return base::ok_status();
    }));
    return json::object();  // SNS: deleting a topic that does not exist is not an error
  }

  Result<json> list_topics(const Caller& c, const json& in) {
    SESAME_ASSIGN(auto page, docs_.page(c, kind::kSnsTopic, in.value("NextToken", json()), 100));
    json topics = json::array();
    for (const auto& n : page.items) topics.push_back(json{{"TopicArn", topic_arn(c, n.name)}});
    json out{{"Topics", topics}};
    if (page.next_token) out["NextToken"] = *page.next_token;
    return out;
  }

  Result<json> get_topic_attributes(const Caller& c, const json& in) {
    const std::string arn = str(in, "TopicArn");
    auto name = topic_name_of(c, arn);
    if (!name) return not_found("Topic does not exist");
    SESAME_ASSIGN(auto topic, docs_.find(c, kind::kSnsTopic, *name));
    if (!topic) return not_found("Topic does not exist");
    SESAME_ASSIGN(auto subs, docs_.all(c, kind::kSnsSubscription));
    int confirmed = 0, pending = 0;
    const double now = s_.clock.now();
    for (const auto& s : subs)
      if (s.doc.value("TopicName", "") == *name && !expired_pending(s.doc, now))
        ++(s.doc.value("Confirmed", false) ? confirmed : pending);
    json attrs = {{"TopicArn", arn},
                  {"Owner", c.account_id},
                  {"DisplayName", ""},
                  {"Policy", default_policy(arn, c.account_id)},
                  {"SubscriptionsConfirmed", std::to_string(confirmed)},
                  {"SubscriptionsPending", std::to_string(pending)},
                  {"SubscriptionsDeleted", "0"},
                  {"EffectiveDeliveryPolicy", delivery_policy()},
                  {"SignatureVersion", std::to_string(signature_version(*topic))}};
    const json set = topic->value("Attributes", json::object());
    for (const auto& [k, v] : set.items()) attrs[k] = v;
    return json{{"Attributes", attrs}};
  }

  Result<json> set_topic_attributes(const Caller& c, const json& in) {
    auto name = topic_name_of(c, str(in, "TopicArn"));
    if (!name) return not_found("Topic does not exist");
    const std::string attr = str(in, "AttributeName"), value = str(in, "AttributeValue");
    SESAME_CHECK(check_topic_attribute(attr, value));
    SESAME_CHECK(docs_.update(c, kind::kSnsTopic, *name, [&](json& d) {
      d["Attributes"][attr] = value;
      return base::ok_status();
    }, "Topic does not exist"));
    return json::object();
  }

  Result<json> subscribe(const Caller& c, const json& in) {
    const std::string arn = str(in, "TopicArn");
    auto name = topic_name_of(c, arn);
    if (!name) return not_found("Topic does not exist");
    const std::string protocol = str(in, "Protocol");
    const std::string endpoint = str(in, "Endpoint");
    if (protocol != "http" && protocol != "https")
      return invalid("Protocol Reason: Sesame delivers to http and https endpoints only, not " + protocol);
    if (endpoint.rfind(protocol + "://", 0) != 0 || endpoint.size() <= protocol.size() + 3 || endpoint.size() > 2048)
      return invalid("Endpoint Reason: must be an " + protocol + ":// URL");
    bool raw = false;
    const json given = in.value("Attributes", json::object());
    for (const auto& [k, v] : given.items()) {
      const std::string value = v.is_string() ? v.get<std::string>() : std::string();
      if (k == "RawMessageDelivery") {
        if (value != "true" && value != "false") return invalid("Attributes Reason: RawMessageDelivery: true or false");
        raw = value == "true";
      } else if (k == "FilterPolicy" || k == "FilterPolicyScope") {
        return invalid("Attributes Reason: Sesame does not support filter policies");
      } else if (k != "DeliveryPolicy") {
        return invalid("Attributes Reason: Unknown attribute " + k);
      }
    }
    SESAME_ASSIGN(auto subs, docs_.all(c, kind::kSnsSubscription));
    std::size_t on_topic = 0;
    std::vector<const Named*> expired;
    const double now = s_.clock.now();
    for (const auto& s : subs) {
      if (s.doc.value("TopicName", "") != *name) continue;
      if (expired_pending(s.doc, now)) {
        expired.push_back(&s);
        continue;
      }
      ++on_topic;
      if (s.doc.value("Endpoint", "") == endpoint && s.doc.value("Protocol", "") == protocol) {
        // The same subscription again: SNS answers with it (still pending: a new confirmation).
        if (s.doc.value("Confirmed", false) || flag(in, "ReturnSubscriptionArn", false))
          return json{{"SubscriptionArn", s.doc.value("SubscriptionArn", "")}};
        SESAME_CHECK(confirm_request(c, *name, s.name, s.doc, /*fresh_token=*/false));
        return json{{"SubscriptionArn", "pending confirmation"}};
      }
    }
    if (!expired.empty()) {
      SESAME_CHECK(docs_.transact(c, [&](DocTxn& t) -> base::Status {
        for (const Named* e : expired) {
          SESAME_CHECK(t.erase(kind::kSnsSubscription, e->name));
          SESAME_CHECK(t.txn().delete_webhooks_of(e->doc.value("SubscriptionArn", "")));
        }
        return base::ok_status();
      }));
    }
    if (on_topic >= kMaxSubscriptionsPerTopic)
      return base::make_error(ErrorCode::kLimitExceeded, "Subscription limit exceeded", "subscription");
    const std::string id = base::uuid_v4();
    const std::string sub_arn = arn + ":" + id;
    json doc = {{"SubscriptionArn", sub_arn}, {"TopicName", *name},   {"Protocol", protocol},
                {"Endpoint", endpoint},       {"Confirmed", false},   {"RawMessageDelivery", raw}};
    if (in.contains("Attributes") && in["Attributes"].contains("DeliveryPolicy"))
      doc["DeliveryPolicy"] = in["Attributes"]["DeliveryPolicy"];
    SESAME_CHECK(confirm_request(c, *name, id, doc, /*fresh_token=*/true));
    return json{{"SubscriptionArn", flag(in, "ReturnSubscriptionArn", false) ? sub_arn : "pending confirmation"}};
  }

  Result<json> confirm(const Caller& c, const json& in) {
    const std::string arn = str(in, "TopicArn"), token = str(in, "Token");
    auto name = topic_name_of(c, arn);
    if (!name) return not_found("Topic does not exist");
    if (token.empty() || token.size() > 256) return invalid("Token");
    SESAME_ASSIGN(auto subs, docs_.all(c, kind::kSnsSubscription));
    for (const auto& s : subs) {
      if (s.doc.value("TopicName", "") != *name || s.doc.value("Token", "") != token) continue;
      if (!s.doc.value("Confirmed", false) && s_.clock.now() > s.doc.value("TokenExpires", 0.0))
        return invalid("Token Reason: the token has expired");
      const bool authenticated = !c.access_key_id.empty();
      const bool auth_unsub = str(in, "AuthenticateOnUnsubscribe") == "true";
      SESAME_CHECK(docs_.update(c, kind::kSnsSubscription, s.name, [&](json& d) {
        if (!d.value("Confirmed", false)) {
          d["Confirmed"] = true;
          d["ConfirmationWasAuthenticated"] = authenticated;
          if (authenticated && auth_unsub) d["AuthenticateOnUnsubscribe"] = true;
        }
        return base::ok_status();
      }, "Subscription does not exist"));
      base::log().info("sns: subscription {} confirmed", s.doc.value("SubscriptionArn", ""));
      return json{{"SubscriptionArn", s.doc.value("SubscriptionArn", "")}};
    }
    return invalid("Token");
  }

  Result<json> unsubscribe(const Caller& c, const json& in) {
    const std::string arn = str(in, "SubscriptionArn");
    auto parsed = subscription_of(c, arn);
    if (!parsed) return not_found("Subscription does not exist");
    SESAME_ASSIGN(auto doc, docs_.find(c, kind::kSnsSubscription, parsed->second));
    if (!doc || doc->value("TopicName", "") != parsed->first) return not_found("Subscription does not exist");
    if (c.access_key_id.empty() && doc->value("AuthenticateOnUnsubscribe", false))
      return base::make_error(ErrorCode::kRejected, "Unsubscribing this subscription requires a signed request");
    SESAME_ASSIGN(auto topic, docs_.find(c, kind::kSnsTopic, parsed->first));
    SESAME_CHECK(docs_.transact(c, [&](DocTxn& t) -> base::Status {
      SESAME_CHECK(t.erase(kind::kSnsSubscription, parsed->second));
      SESAME_CHECK(t.txn().delete_webhooks_of(arn));
      if (topic && doc->value("Confirmed", false)) {
        // SNS tells the endpoint (UnsubscribeConfirmation, with a token to resubscribe).
        SESAME_CHECK(t.txn().insert_webhook(events::sns_confirmation(
            "UnsubscribeConfirmation", topic_arn(c, parsed->first), signature_version(*topic), subscriber_of(arn, *doc),
            doc->value("Token", ""), t.now())));
      }
      return base::ok_status();
    }));
    woke();
    return json::object();
  }

  Result<json> list_subscriptions(const Caller& c, const json& in, const std::optional<std::string>& topic) {
    const double now = s_.clock.now();
    SESAME_ASSIGN(auto page, docs_.page(c, kind::kSnsSubscription, in.value("NextToken", json()), 100, [&](const Named& n) {
      return (!topic || n.doc.value("TopicName", "") == *topic) && !expired_pending(n.doc, now);
    }));
    json items = json::array();
    for (const auto& n : page.items)
      items.push_back(json{{"SubscriptionArn", n.doc.value("Confirmed", false) ? n.doc.value("SubscriptionArn", "")
                                                                                : std::string("PendingConfirmation")},
                           {"Owner", c.account_id},
                           {"Protocol", n.doc.value("Protocol", "")},
                           {"Endpoint", n.doc.value("Endpoint", "")},
                           {"TopicArn", topic_arn(c, n.doc.value("TopicName", ""))}});
    json out{{"Subscriptions", items}};
    if (page.next_token) out["NextToken"] = *page.next_token;
    return out;
  }

  Result<json> list_by_topic(const Caller& c, const json& in) {
    auto name = topic_name_of(c, str(in, "TopicArn"));
    if (!name) return not_found("Topic does not exist");
    SESAME_ASSIGN(auto topic, docs_.find(c, kind::kSnsTopic, *name));
    if (!topic) return not_found("Topic does not exist");
    return list_subscriptions(c, in, name);
  }

  Result<json> get_subscription_attributes(const Caller& c, const json& in) {
    const std::string arn = str(in, "SubscriptionArn");
    SESAME_ASSIGN(auto doc, subscription(c, arn));
    json attrs = {{"SubscriptionArn", arn},
                  {"TopicArn", topic_arn(c, doc.value("TopicName", ""))},
                  {"Owner", c.account_id},
                  {"SubscriptionPrincipal", "arn:aws:iam::" + c.account_id + ":root"},
                  {"Protocol", doc.value("Protocol", "")},
                  {"Endpoint", doc.value("Endpoint", "")},
                  {"PendingConfirmation", doc.value("Confirmed", false) ? "false" : "true"},
                  {"ConfirmationWasAuthenticated", doc.value("ConfirmationWasAuthenticated", false) ? "true" : "false"},
                  {"RawMessageDelivery", doc.value("RawMessageDelivery", false) ? "true" : "false"},
                  {"EffectiveDeliveryPolicy", delivery_policy()}};
    if (doc.contains("DeliveryPolicy")) attrs["DeliveryPolicy"] = doc["DeliveryPolicy"];
    return json{{"Attributes", attrs}};
  }

  Result<json> set_subscription_attributes(const Caller& c, const json& in) {
    const std::string arn = str(in, "SubscriptionArn");
    const std::string attr = str(in, "AttributeName"), value = str(in, "AttributeValue");
    if (attr == "RawMessageDelivery") {
      if (value != "true" && value != "false") return invalid("Attributes Reason: RawMessageDelivery: true or false");
    } else if (attr == "FilterPolicy" || attr == "FilterPolicyScope") {
      return invalid("AttributeName Reason: Sesame does not support filter policies");
    } else if (attr != "DeliveryPolicy") {
      return invalid("AttributeName");
    }
    SESAME_CHECK(subscription(c, arn));  // exists (and not expired)
    SESAME_CHECK(docs_.update(c, kind::kSnsSubscription, subscription_of(c, arn)->second, [&](json& d) {
      if (attr == "RawMessageDelivery") d["RawMessageDelivery"] = value == "true";
      else d[attr] = value;
      return base::ok_status();
    }, "Subscription does not exist"));
    return json::object();
  }

  Result<json> publish(const Caller& c, const json& in) {
    if (in.contains("PhoneNumber") || (in.contains("TargetArn") && !in.contains("TopicArn")))
      return invalid("Sesame publishes to topics only (TopicArn)");
    const std::string arn = str(in, "TopicArn");
    auto name = topic_name_of(c, arn);
    if (!name) return not_found("Topic does not exist");
    std::string message = str(in, "Message");
    const std::string subject = str(in, "Subject");
    if (message.empty()) return invalid("Empty message");
    if (message.size() > kMaxMessageBytes) return invalid("Message too long");
    if (subject.size() > 100 || std::any_of(subject.begin(), subject.end(), [](char ch) {
          return static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e;
        }))
      return invalid("Subject");
    if (in.contains("MessageGroupId") || in.contains("MessageDeduplicationId"))
      return invalid("MessageGroupId Reason: The request includes MessageGroupId parameter that is not valid for this topic type");
    if (str(in, "MessageStructure") == "json") {
      // One message per protocol: http/https subscribers get their key, else "default".
      json m = json::parse(message, nullptr, false);
      if (!m.is_object() || !m.contains("default") || !m["default"].is_string())
        return invalid("Message Structure - No default entry in JSON message body");
      for (const char* proto : {"https", "http"})
        if (m.contains(proto) && m[proto].is_string()) {
          message = m[proto].get<std::string>();
          break;
        }
      if (message == str(in, "Message")) message = m["default"].get<std::string>();
    } else if (in.contains("MessageStructure")) {
      return invalid("MessageStructure");
    }
    std::string id;
    SESAME_CHECK(docs_.transact(c, [&](DocTxn& t) -> base::Status {
      SESAME_ASSIGN(auto topic, sns_topic(t, c, arn));
      if (!topic) return not_found("Topic does not exist");
      for (const auto& w : events::sns_notifications(*topic, subject, message, t.now(), &id))
        SESAME_CHECK(t.txn().insert_webhook(w));
      return base::ok_status();
    }));
    woke();
    return json{{"MessageId", id}};
  }

 private:
  Result<json> subscription(const Caller& c, const std::string& arn) {
    auto parsed = subscription_of(c, arn);
    if (!parsed) return not_found("Subscription does not exist");
    SESAME_ASSIGN(auto doc, docs_.find(c, kind::kSnsSubscription, parsed->second));
    if (!doc || doc->value("TopicName", "") != parsed->first || expired_pending(*doc, s_.clock.now()))
      return not_found("Subscription does not exist");
    return *doc;
  }

  /// Stores the subscription and queues its SubscriptionConfirmation, atomically.
  base::Status confirm_request(const Caller& c, const std::string& topic, const std::string& id, json doc,
                               bool fresh_token) {
    const double now = s_.clock.now();
    if (fresh_token || doc.value("Token", "").empty()) doc["Token"] = base::token(64);
    doc["TokenExpires"] = now + kTokenLifetime;
    SESAME_CHECK(docs_.transact(c, [&](DocTxn& t) -> base::Status {
      SESAME_ASSIGN(auto topic_doc, topic_or_missing(t, topic));
      SESAME_CHECK(t.put(kind::kSnsSubscription, id, doc));
      return t.txn().insert_webhook(events::sns_confirmation("SubscriptionConfirmation", topic_arn(c, topic),
                                                             signature_version(topic_doc),
                                                             subscriber_of(doc.value("SubscriptionArn", ""), doc),
                                                             doc.value("Token", ""), now));
    }));
    woke();
    return base::ok_status();
  }

  void woke() {
    if (s_.webhooks_queued) s_.webhooks_queued();
  }

  Services& s_;
  Documents docs_;
};
}  // namespace

namespace {
/// A topic with its confirmed subscribers, from its document and the account's
/// subscription documents.
events::Topic topic_with(const std::string& arn, const std::string& name, const json& topic,
                         const std::vector<json>& subscriptions) {
  events::Topic out{arn, signature_version(topic), {}};
  for (const auto& s : subscriptions)
    if (s.is_object() && s.value("TopicName", "") == name && s.value("Confirmed", false))
      out.subscribers.push_back(subscriber_of(s.value("SubscriptionArn", ""), s));
  return out;
}
}  // namespace

base::Result<std::optional<events::Topic>> sns_topic(DocTxn& t, const Caller& c, const std::string& arn) {
  auto name = topic_name_of(c, arn);
  if (!name) return std::optional<events::Topic>();
  SESAME_ASSIGN(auto doc, t.get(kind::kSnsTopic, *name));
  if (!doc) return std::optional<events::Topic>();
  SESAME_ASSIGN(auto rows, t.txn().list(c.account_id, c.region, kind::kSnsSubscription));
  std::vector<json> subs;
  for (const auto& d : rows) subs.push_back(json::parse(d.body, nullptr, false));
  return std::optional<events::Topic>(topic_with(arn, *name, *doc, subs));
}

events::TopicLookup sns_topic_lookup(Services& services) {
  return [&services](const std::string& account, const std::string& region,
                     const std::string& arn) -> base::Result<std::optional<events::Topic>> {
    Caller c{account, region, "", ""};
    auto name = topic_name_of(c, arn);
    if (!name) return std::optional<events::Topic>();
    Documents docs(services);
    SESAME_ASSIGN(auto doc, docs.find(c, kind::kSnsTopic, *name));
    if (!doc) return std::optional<events::Topic>();
    SESAME_ASSIGN(auto named, docs.all(c, kind::kSnsSubscription));
    std::vector<json> subs;
    for (auto& n : named) subs.push_back(std::move(n.doc));
    return std::optional<events::Topic>(topic_with(arn, *name, *doc, subs));
  };
}

std::function<base::Result<std::optional<std::pair<events::Topic, bool>>>(
    const std::string& account, const std::string& region, const std::string& identity, const std::string& type)>
identity_topic_lookup(Services& services) {
  auto topics = sns_topic_lookup(services);
  return [&services, topics](const std::string& account, const std::string& region, const std::string& identity,
                             const std::string& type) -> base::Result<std::optional<std::pair<events::Topic, bool>>> {
    using Out = std::optional<std::pair<events::Topic, bool>>;
    Caller c{account, region, "", ""};
    Documents docs(services);
    // The address's settings first, then its domain's (SES: an address's take precedence).
    std::optional<json> doc;
    std::string arn;
    for (const std::string& name : {identity, identity.substr(identity.rfind('@') + 1)}) {
      SESAME_ASSIGN(doc, docs.find(c, kind::kIdentity, name));
      if (doc) arn = doc->value("topics", json::object()).value(type, "");
      if (!arn.empty()) break;
    }
    if (arn.empty()) return Out();
    SESAME_ASSIGN(auto topic, topics(account, region, arn));
    if (!topic) return Out();
    return Out(std::make_pair(std::move(*topic), doc->value("headers_in", json::object()).value(type, false)));
  };
}

void register_sns(HandlerTable& t, Services& services) {
  auto sns = std::make_shared<Sns>(services);
  const Api a = Api::kSns;
  t.add(a, "CreateTopic", [sns](const Caller& c, const json& in) { return sns->create_topic(c, in); });
  t.add(a, "DeleteTopic", [sns](const Caller& c, const json& in) { return sns->delete_topic(c, in); });
  t.add(a, "ListTopics", [sns](const Caller& c, const json& in) { return sns->list_topics(c, in); });
  t.add(a, "GetTopicAttributes", [sns](const Caller& c, const json& in) { return sns->get_topic_attributes(c, in); });
  t.add(a, "SetTopicAttributes", [sns](const Caller& c, const json& in) { return sns->set_topic_attributes(c, in); });
  t.add(a, "Subscribe", [sns](const Caller& c, const json& in) { return sns->subscribe(c, in); });
  t.add(a, "ConfirmSubscription", [sns](const Caller& c, const json& in) { return sns->confirm(c, in); });
  t.add(a, "Unsubscribe", [sns](const Caller& c, const json& in) { return sns->unsubscribe(c, in); });
  t.add(a, "ListSubscriptions", [sns](const Caller& c, const json& in) {
    return sns->list_subscriptions(c, in, std::nullopt);
  });
  t.add(a, "ListSubscriptionsByTopic", [sns](const Caller& c, const json& in) { return sns->list_by_topic(c, in); });
  t.add(a, "GetSubscriptionAttributes",
        [sns](const Caller& c, const json& in) { return sns->get_subscription_attributes(c, in); });
  t.add(a, "SetSubscriptionAttributes",
        [sns](const Caller& c, const json& in) { return sns->set_subscription_attributes(c, in); });
  t.add(a, "Publish", [sns](const Caller& c, const json& in) { return sns->publish(c, in); });
}

}  // namespace sesame::service
