// SES v1 identity operations (Verify*, List*, Get*Attributes, Set*, policies) over the
// shared identity documents. SES API reference, "Actions" for 2010-12-01.
#include "base/log.hpp"
#include "service/email_verification.hpp"
#include "service/identity.hpp"
#include "service/identity_attributes.hpp"
#include "base/encoding.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
using base::Result;

Result<json> verify_email(Documents& docs, const Caller& c, const json& in, const char* member) {
  SESAME_ASSIGN(auto name, identity::normalize(str(in, member)));
  if (!identity::is_email(name))
    return base::make_error(ErrorCode::kInvalidParameter, "Invalid email address <" + name + ">.");
  double now = docs.services().clock.now();
  SESAME_ASSIGN(auto doc, docs.update(
                              c, kind::kIdentity, name,
                              [&](json& d) {
                                if (d.empty()) d = identity::new_document(false, now);
                                return base::ok_status();
                              },
                              "", true));
  (void)doc;
  SESAME_CHECK(send_verification_email(docs.services(), c, name));
  return json::object();
}

Result<json> verify_domain(Documents& docs, const Caller& c, const json& in) {
  SESAME_ASSIGN(auto name, identity::normalize(str(in, "Domain")));
  if (identity::is_email(name)) return base::make_error(ErrorCode::kInvalidParameter, "Invalid domain name <" + name + ">.");
  double now = docs.services().clock.now();
  SESAME_ASSIGN(auto doc, docs.update(
                              c, kind::kIdentity, name,
                              [&](json& d) {
                                if (d.empty()) d = identity::new_document(true, now);
                                json& v = d["verification"];
                                if (!v.contains("token")) {
                                  v["token"] = base::base64_encode(base::random_bytes(32));
                                  v["started"] = now;
                                  if (v.value("status", "") != "SUCCESS") v["status"] = "PENDING";
                                }
                                return base::ok_status();
                              },
                              "", true));
  return json{{"VerificationToken", doc["verification"]["token"]}};
}

Result<json> verify_domain_dkim(Documents& docs, const Caller& c, const json& in) {
  SESAME_ASSIGN(auto name, identity::normalize(str(in, "Domain")));
  if (identity::is_email(name)) return base::make_error(ErrorCode::kInvalidParameter, "Invalid domain name <" + name + ">.");
  Services& s = docs.services();
  SESAME_ASSIGN(auto existing, docs.find(c, kind::kIdentity, name));
  if (existing && existing->contains("dkim") && (*existing)["dkim"].value("origin", "") == "AWS_SES")
    return json{{"DkimTokens", (*existing)["dkim"]["tokens"]}};
  json fresh = json::object();
  SESAME_CHECK(identity::setup_easy_dkim(s, c, name, fresh, 2048));
  double now = s.clock.now();
  SESAME_ASSIGN(auto doc, docs.update(
                              c, kind::kIdentity, name,
                              [&](json& d) {
                                if (d.empty()) d = identity::new_document(true, now);
                                if (!d.contains("dkim")) d["dkim"] = fresh["dkim"];
                                return base::ok_status();
                              },
                              "", true));
  if (doc["dkim"].value("key_id", "") != fresh["dkim"].value("key_id", "")) identity::forget_keys(s, c, name, fresh);
  json tokens = doc["dkim"].contains("tokens") ? doc["dkim"]["tokens"] : json::array();
  return json{{"DkimTokens", tokens}};
}

Result<json> list_identities(Documents& docs, const Caller& c, const json& in) {
  std::string type = str(in, "IdentityType");
  std::size_t max = in.contains("MaxItems") ? std::size_t(std::max(1, std::min(1000, in["MaxItems"].get<int>()))) : 1000;
  SESAME_ASSIGN(auto page, docs.page(c, kind::kIdentity, in.value("NextToken", json()), max, [&](const Named& n) {
                  if (type.empty()) return true;
                  return (type == "Domain") == (n.doc.value("type", "") == "DOMAIN");
                }));
  json ids = json::array();
  for (const auto& n : page.items) ids.push_back(n.name);
  json out{{"Identities", ids}};
  if (page.next_token) out["NextToken"] = *page.next_token;
  return out;
}

Result<json> list_verified_emails(Documents& docs, const Caller& c) {
  SESAME_ASSIGN(auto all, docs.all(c, kind::kIdentity));
  json ids = json::array();
  for (const auto& n : all)
    if (n.doc.value("type", "") == "EMAIL_ADDRESS" && identity::verified_for_sending(n.doc)) ids.push_back(n.name);
  return json{{"VerifiedEmailAddresses", ids}};
}

Result<json> delete_identity(Documents& docs, const Caller& c, const std::string& raw) {
  auto name = identity::normalize(raw);
  if (!name.ok()) return json::object();  // SES answers success for identities it does not have
  SESAME_ASSIGN(auto existing, docs.find(c, kind::kIdentity, *name));
  SESAME_ASSIGN(auto erased, docs.erase(c, kind::kIdentity, *name));
  if (erased && existing) identity::forget_keys(docs.services(), c, *name, *existing);
  return json::object();
}

/// Loads each requested identity (fresh DNS status), skipping unknown ones as SES does.
template <class F>
Result<json> attributes_map(Documents& docs, const Caller& c, const json& in, F&& build) {
  json out = json::object();
  const json identities = in.value("Identities", json::array());
  if (identities.size() > 100)
    return base::make_error(ErrorCode::kInvalidParameter, "At most 100 identities may be requested at a time.");
  for (const auto& raw : identities) {
    auto name = identity::normalize(raw.get<std::string>());
    if (!name.ok()) continue;
    SESAME_ASSIGN(auto doc, identity::load_fresh(docs, c, *name));
    if (!doc) continue;
    out[raw.get<std::string>()] = build(*name, *doc);
  }
  return out;
}

/// Recorded SES reply for Set*/Put* on an unknown identity (reference §2.1).
std::string not_exist(const std::string& name) { return "Identity " + name + " is not verified or does not exist."; }

Result<json> mutate_identity(Documents& docs, const Caller& c, const std::string& raw,
                             const std::function<base::Status(json&)>& f) {
  SESAME_ASSIGN(auto name, identity::normalize(raw));
  return docs.update(c, kind::kIdentity, name, f, not_exist(name));
}

const char* kTypes[] = {"Bounce", "Complaint", "Delivery"};
}  // namespace

void register_identities_v1(HandlerTable& t, Services& s) {
  auto docs = std::make_shared<Documents>(s);
  const Api v1 = Api::kV1;
  t.add(v1, "VerifyEmailIdentity", [docs](const Caller& c, const json& in) { return verify_email(*docs, c, in, "EmailAddress"); });
  t.add(v1, "VerifyEmailAddress", [docs](const Caller& c, const json& in) { return verify_email(*docs, c, in, "EmailAddress"); });
  t.add(v1, "VerifyDomainIdentity", [docs](const Caller& c, const json& in) { return verify_domain(*docs, c, in); });
  t.add(v1, "VerifyDomainDkim", [docs](const Caller& c, const json& in) { return verify_domain_dkim(*docs, c, in); });
  t.add(v1, "ListIdentities", [docs](const Caller& c, const json& in) { return list_identities(*docs, c, in); });
  t.add(v1, "ListVerifiedEmailAddresses", [docs](const Caller& c, const json&) { return list_verified_emails(*docs, c); });
  t.add(v1, "DeleteIdentity", [docs](const Caller& c, const json& in) { return delete_identity(*docs, c, str(in, "Identity")); });
  t.add(v1, "DeleteVerifiedEmailAddress",
        [docs](const Caller& c, const json& in) { return delete_identity(*docs, c, str(in, "EmailAddress")); });

  t.add(v1, "GetIdentityVerificationAttributes", [docs](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto m, attributes_map(*docs, c, in, [](const std::string&, const json& d) {
                    json a{{"VerificationStatus", identity::v1_status(identity::verification_status(d))}};
                    const json v = d.value("verification", json::object());
                    if (v.contains("token")) a["VerificationToken"] = v["token"];
                    return a;
                  }));
    return json{{"VerificationAttributes", m}};
  });

  t.add(v1, "GetIdentityDkimAttributes", [docs](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto m, attributes_map(*docs, c, in, [](const std::string&, const json& d) {
                    json a{{"DkimEnabled", d.contains("dkim") && d["dkim"].value("signing_enabled", false)},
                           {"DkimVerificationStatus", identity::v1_status(identity::dkim_status(d))}};
                    if (d.contains("dkim") && d["dkim"].contains("tokens")) a["DkimTokens"] = d["dkim"]["tokens"];
                    return a;
                  }));
    return json{{"DkimAttributes", m}};
  });

  t.add(v1, "SetIdentityDkimEnabled", [docs](const Caller& c, const json& in) -> Result<json> {
    bool enabled = flag(in, "DkimEnabled", false);
    SESAME_CHECK(mutate_identity(*docs, c, str(in, "Identity"), [&](json& d) -> base::Status {
      if (!d.contains("dkim")) {
        if (!enabled) return base::ok_status();
        return base::make_error(ErrorCode::kInvalidParameter,
                                "DKIM is not set up for identity " + str(in, "Identity") + "; call VerifyDomainDkim first.");
      }
      d["dkim"]["signing_enabled"] = enabled;
      return base::ok_status();
    }));
    return json::object();
  });

  t.add(v1, "GetIdentityMailFromDomainAttributes", [docs](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto m, attributes_map(*docs, c, in, [](const std::string&, const json& d) {
                    json mf = d.value("mail_from", json::object());
                    std::string behavior = mf.value("behavior", "USE_DEFAULT_VALUE");
                    return json{{"MailFromDomain", mf.value("domain", "")},
                                {"MailFromDomainStatus", identity::v1_status(mf.value("status", "PENDING"))},
                                {"BehaviorOnMXFailure", behavior == "REJECT_MESSAGE" ? "RejectMessage" : "UseDefaultValue"}};
                  }));
    return json{{"MailFromDomainAttributes", m}};
  });

  t.add(v1, "SetIdentityMailFromDomain", [docs](const Caller& c, const json& in) -> Result<json> {
    std::string behavior = str(in, "BehaviorOnMXFailure", "UseDefaultValue") == "RejectMessage" ? "REJECT_MESSAGE" : "USE_DEFAULT_VALUE";
    SESAME_CHECK(mutate_identity(*docs, c, str(in, "Identity"), [&](json& d) {
      return set_mail_from(docs->services(), d, str(in, "Identity"), str(in, "MailFromDomain"), behavior);
    }));
    return json::object();
  });

  t.add(v1, "GetIdentityNotificationAttributes", [docs](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto m, attributes_map(*docs, c, in, [](const std::string&, const json& d) {
                    json topics = d.value("topics", json::object()), hdr = d.value("headers_in", json::object());
                    json a{{"ForwardingEnabled", d.value("feedback_forwarding", true)}};
                    for (const char* type : kTypes) {
                      a[std::string(type) + "Topic"] = topics.value(type, "");
                      a["HeadersIn" + std::string(type) + "NotificationsEnabled"] = hdr.value(type, false);
                    }
                    return a;
                  }));
    return json{{"NotificationAttributes", m}};
  });

  t.add(v1, "SetIdentityNotificationTopic", [docs](const Caller& c, const json& in) -> Result<json> {
    std::string type = str(in, "NotificationType");
    std::string topic = str(in, "SnsTopic");
    if (!topic.empty() && topic.rfind("arn:", 0) != 0)
      return base::make_error(ErrorCode::kInvalidParameter, "Invalid SNS topic ARN: " + topic);
    SESAME_CHECK(mutate_identity(*docs, c, str(in, "Identity"), [&](json& d) -> base::Status {
      json& topics = d["topics"];
      if (topic.empty()) {
        topics.erase(type);
        // SES turns forwarding back on when a bounce/complaint topic is removed.
        if (type != "Delivery") d["feedback_forwarding"] = true;
      } else {
        topics[type] = topic;
      }
      return base::ok_status();
    }));
    return json::object();
  });

  t.add(v1, "SetIdentityFeedbackForwardingEnabled", [docs](const Caller& c, const json& in) -> Result<json> {
    bool enabled = flag(in, "ForwardingEnabled", true);
    SESAME_CHECK(mutate_identity(*docs, c, str(in, "Identity"), [&](json& d) -> base::Status {
      return set_feedback_forwarding(d, enabled);
    }));
    return json::object();
  });

  t.add(v1, "SetIdentityHeadersInNotificationsEnabled", [docs](const Caller& c, const json& in) -> Result<json> {
    SESAME_CHECK(mutate_identity(*docs, c, str(in, "Identity"), [&](json& d) {
      d["headers_in"][str(in, "NotificationType")] = flag(in, "Enabled", false);
      return base::ok_status();
    }));
    return json::object();
  });

  t.add(v1, "PutIdentityPolicy", [docs](const Caller& c, const json& in) -> Result<json> {
    SESAME_CHECK(mutate_identity(*docs, c, str(in, "Identity"), [&](json& d) {
      return put_policy(d, str(in, "PolicyName"), str(in, "Policy"), PolicyWrite::kUpsert);
    }));
    return json::object();
  });

  t.add(v1, "DeleteIdentityPolicy", [docs](const Caller& c, const json& in) -> Result<json> {
    SESAME_CHECK(mutate_identity(*docs, c, str(in, "Identity"), [&](json& d) {
      d["policies"].erase(str(in, "PolicyName"));  // absent is fine, as in SES
      return base::ok_status();
    }));
    return json::object();
  });

  t.add(v1, "GetIdentityPolicies", [docs](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto name, identity::normalize(str(in, "Identity")));
    SESAME_ASSIGN(auto d, docs->require(c, kind::kIdentity, name, not_exist(name)));
    json out = json::object();
    for (const auto& p : in.value("PolicyNames", json::array()))
      if (d["policies"].contains(p.get<std::string>())) out[p.get<std::string>()] = d["policies"][p.get<std::string>()];
    return json{{"Policies", out}};
  });

  t.add(v1, "ListIdentityPolicies", [docs](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto name, identity::normalize(str(in, "Identity")));
    SESAME_ASSIGN(auto d, docs->require(c, kind::kIdentity, name, not_exist(name)));
    json names = json::array();
    for (const auto& [k, v] : d["policies"].items()) names.push_back(k);
    return json{{"PolicyNames", names}};
  });
}

}  // namespace sesame::service
