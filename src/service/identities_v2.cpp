// SES v2 email-identity operations over the same identity documents as v1
// (SESv2 API reference: CreateEmailIdentity, GetEmailIdentity, Put*Attributes, policies).
#include "service/email_verification.hpp"
#include "service/identity.hpp"
#include "service/identity_attributes.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
using base::Result;

std::string missing(const std::string& name) { return "Email identity <" + name + "> does not exist."; }

json dkim_attributes(const json& d) {
  if (!d.contains("dkim")) {
    return json{{"SigningEnabled", false}, {"Status", "NOT_STARTED"}};
  }
  const json& k = d["dkim"];
  json a{{"SigningEnabled", k.value("signing_enabled", false)},
         {"Status", k.value("status", "PENDING")},
         {"SigningAttributesOrigin", k.value("origin", "AWS_SES")}};
  if (k.contains("tokens")) a["Tokens"] = k["tokens"];
  if (k.contains("selector")) a["Tokens"] = json::array({k["selector"]});
  if (k.contains("current_key_length")) a["CurrentSigningKeyLength"] = k["current_key_length"];
  if (k.contains("next_key_length")) a["NextSigningKeyLength"] = k["next_key_length"];
  if (k.contains("last_key_generation")) a["LastKeyGenerationTimestamp"] = k["last_key_generation"];
  return a;
}

/// Applies DkimSigningAttributes (Easy DKIM with a key length, or BYODKIM) to `doc`.
base::Status apply_signing(Services& s, const Caller& c, const std::string& name, json& doc, const json& attrs,
                           std::string origin) {
  if (origin.empty()) origin = attrs.value("DomainSigningAttributesOrigin", "");
  if (origin.empty()) origin = attrs.contains("DomainSigningPrivateKey") ? "EXTERNAL" : "AWS_SES";
  if (origin == "EXTERNAL") {
    std::string selector = str(attrs, "DomainSigningSelector"), key = str(attrs, "DomainSigningPrivateKey");
    if (selector.empty() || key.empty())
      return base::make_error(ErrorCode::kInvalidParameter,
                              "DomainSigningSelector and DomainSigningPrivateKey are required for EXTERNAL DKIM signing.");
    return identity::setup_byodkim(s, c, name, doc, selector, key);
  }
  int bits = str(attrs, "NextSigningKeyLength", "RSA_2048_BIT") == "RSA_1024_BIT" ? 1024 : 2048;
  return identity::setup_easy_dkim(s, c, name, doc, bits);
}

Result<json> create_identity(Documents& docs, const Caller& c, const json& in) {
  Services& s = docs.services();
  SESAME_ASSIGN(auto name, identity::normalize(str(in, "EmailIdentity")));
  SESAME_CHECK(check_tags(in.value("Tags", json::array())));
  bool domain = !identity::is_email(name);
  double now = s.clock.now();
  json doc = identity::new_document(domain, now);
  doc["tags"] = merge_tags(json::array(), in.value("Tags", json::array()));
  if (in.contains("ConfigurationSetName")) {
    SESAME_ASSIGN(auto cs, docs.find(c, kind::kConfigurationSet, str(in, "ConfigurationSetName")));
    if (!cs) return base::make_error(ErrorCode::kNotFound, "Configuration set <" + str(in, "ConfigurationSetName") + "> does not exist.");
    doc["configuration_set"] = str(in, "ConfigurationSetName");
  }
  if (domain) SESAME_CHECK(apply_signing(s, c, name, doc, in.value("DkimSigningAttributes", json::object()), ""));
  auto created = docs.create(c, kind::kIdentity, name, doc, "Email identity <" + name + "> already exists.");
  if (!created.ok()) {
    identity::forget_keys(s, c, name, doc);
    return created.error();
  }
  if (!domain) SESAME_CHECK(send_verification_email(s, c, name));
  return json{{"IdentityType", domain ? "DOMAIN" : "EMAIL_ADDRESS"},
              {"VerifiedForSendingStatus", identity::verified_for_sending(doc)},
              {"DkimAttributes", dkim_attributes(doc)}};
}

Result<json> get_identity(Documents& docs, const Caller& c, const json& in) {
  SESAME_ASSIGN(auto name, identity::normalize(str(in, "EmailIdentity")));
  SESAME_ASSIGN(auto found, identity::load_fresh(docs, c, name));
  if (!found) return base::make_error(ErrorCode::kNotFound, missing(name));
  const json& d = *found;
  json mf = d.value("mail_from", json::object());
  json v = d.value("verification", json::object());
  json out{{"IdentityType", d.value("type", "EMAIL_ADDRESS")},
           {"FeedbackForwardingStatus", d.value("feedback_forwarding", true)},
           {"VerifiedForSendingStatus", identity::verified_for_sending(d)},
           {"DkimAttributes", dkim_attributes(d)},
           {"MailFromAttributes",
            json{{"MailFromDomain", mf.value("domain", "")},
                 {"MailFromDomainStatus", mf.value("status", "PENDING")},
                 {"BehaviorOnMxFailure", mf.value("behavior", "USE_DEFAULT_VALUE")}}},
           {"Policies", d.value("policies", json::object())},
           {"Tags", d.value("tags", json::array())},
           {"VerificationStatus", identity::verification_status(d)}};
  if (d.contains("configuration_set")) out["ConfigurationSetName"] = d["configuration_set"];
  json info = json::object();
  if (v.contains("last_checked")) info["LastCheckedTimestamp"] = v["last_checked"];
  if (d.contains("dkim") && d["dkim"].contains("last_checked")) info["LastCheckedTimestamp"] = d["dkim"]["last_checked"];
  if (v.contains("last_success")) info["LastSuccessTimestamp"] = v["last_success"];
  if (v.contains("error_type") && identity::verification_status(d) != "SUCCESS") info["ErrorType"] = v["error_type"];
  if (!info.empty()) out["VerificationInfo"] = info;
  return out;
}

/// GET /v2/email/identities, and the newer POST /v2/email/list-identities whose Filter
/// selects by IDENTITY_NAME_CONTAINS, IDENTITY_TYPE or VERIFICATION_STATUS.
Result<json> list_identities(Documents& docs, const Caller& c, const json& in) {
  std::size_t size = in.contains("PageSize") ? std::size_t(std::max(1, std::min(1000, in["PageSize"].get<int>()))) : 100;
  const json filter = in.value("Filter", json::object());
  std::string contains = filter.value("IDENTITY_NAME_CONTAINS", ""), type = filter.value("IDENTITY_TYPE", ""),
              status = filter.value("VERIFICATION_STATUS", "");
  SESAME_ASSIGN(auto page, docs.page(c, kind::kIdentity, in.value("NextToken", json()), size, [&](const Named& n) {
                  return (contains.empty() || n.name.find(contains) != std::string::npos) &&
                         (type.empty() || n.doc.value("type", "") == type) &&
                         (status.empty() || identity::verification_status(n.doc) == status);
                }));
  json items = json::array();
  for (const auto& n : page.items) {
    bool verified = identity::verified_for_sending(n.doc);
    items.push_back(json{{"IdentityType", n.doc.value("type", "EMAIL_ADDRESS")},
                         {"IdentityName", n.name},
                         {"SendingEnabled", verified},
                         {"VerificationStatus", identity::verification_status(n.doc)}});
  }
  json out{{"EmailIdentities", items}};
  if (page.next_token) out["NextToken"] = *page.next_token;
  return out;
}

Result<json> mutate(Documents& docs, const Caller& c, const json& in, const std::function<base::Status(json&)>& f) {
  SESAME_ASSIGN(auto name, identity::normalize(str(in, "EmailIdentity")));
  SESAME_CHECK(docs.update(c, kind::kIdentity, name, f, missing(name)));
  return json::object();
}
}  // namespace

void register_identities_v2(HandlerTable& t, Services& s) {
  auto docs = std::make_shared<Documents>(s);
  const Api v2 = Api::kV2;
  t.add(v2, "CreateEmailIdentity", [docs](const Caller& c, const json& in) { return create_identity(*docs, c, in); });
  t.add(v2, "GetEmailIdentity", [docs](const Caller& c, const json& in) { return get_identity(*docs, c, in); });
  t.add(v2, "ListEmailIdentities", [docs](const Caller& c, const json& in) { return list_identities(*docs, c, in); });

  t.add(v2, "DeleteEmailIdentity", [docs](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto name, identity::normalize(str(in, "EmailIdentity")));
    SESAME_ASSIGN(auto existing, docs->find(c, kind::kIdentity, name));
    SESAME_ASSIGN(auto erased, docs->erase(c, kind::kIdentity, name));
    if (!erased || !existing) return base::make_error(ErrorCode::kNotFound, missing(name));
    identity::forget_keys(docs->services(), c, name, *existing);
    return json::object();
  });

  t.add(v2, "PutEmailIdentityDkimAttributes", [docs](const Caller& c, const json& in) {
    return mutate(*docs, c, in, [&](json& d) -> base::Status {
      bool enabled = flag(in, "SigningEnabled", false);
      if (!d.contains("dkim")) {
        if (!enabled) return base::ok_status();
        return base::make_error(ErrorCode::kInvalidParameter, "DKIM signing is not set up for this identity.");
      }
      d["dkim"]["signing_enabled"] = enabled;
      return base::ok_status();
    });
  });

  t.add(v2, "PutEmailIdentityDkimSigningAttributes", [docs](const Caller& c, const json& in) -> Result<json> {
    Services& s = docs->services();
    SESAME_ASSIGN(auto name, identity::normalize(str(in, "EmailIdentity")));
    if (identity::is_email(name))
      return base::make_error(ErrorCode::kInvalidParameter, "DKIM signing attributes apply to domain identities only.");
    SESAME_ASSIGN(auto before, docs->require(c, kind::kIdentity, name, missing(name)));
    std::string origin = str(in, "SigningAttributesOrigin");
    if (origin.rfind("AWS_SES", 0) == 0) origin = "AWS_SES";
    json fresh = json::object();
    SESAME_CHECK(apply_signing(s, c, name, fresh, in.value("SigningAttributes", json::object()), origin));
    auto after = docs->update(c, kind::kIdentity, name, [&](json& d) {
      d["dkim"] = fresh["dkim"];
      return base::ok_status();
    }, missing(name));
    if (!after.ok()) {
      identity::forget_keys(s, c, name, fresh);
      return after.error();
    }
    identity::forget_keys(s, c, name, before);  // the replaced key
    json out{{"DkimStatus", fresh["dkim"]["status"]}};
    json a = dkim_attributes(fresh);
    if (a.contains("Tokens")) out["DkimTokens"] = a["Tokens"];
    return out;
  });

  t.add(v2, "PutEmailIdentityMailFromAttributes", [docs](const Caller& c, const json& in) {
    return mutate(*docs, c, in, [&](json& d) {
      return set_mail_from(docs->services(), d, str(in, "EmailIdentity"), str(in, "MailFromDomain"),
                           str(in, "BehaviorOnMxFailure", "USE_DEFAULT_VALUE"));
    });
  });

  t.add(v2, "PutEmailIdentityFeedbackAttributes", [docs](const Caller& c, const json& in) {
    return mutate(*docs, c, in, [&](json& d) {
      d["feedback_forwarding"] = flag(in, "EmailForwardingEnabled", false);
      return base::ok_status();
    });
  });

  t.add(v2, "PutEmailIdentityConfigurationSetAttributes", [docs](const Caller& c, const json& in) -> Result<json> {
    std::string cs = str(in, "ConfigurationSetName");
    if (!cs.empty()) {
      SESAME_ASSIGN(auto found, docs->find(c, kind::kConfigurationSet, cs));
      if (!found) return base::make_error(ErrorCode::kNotFound, "Configuration set <" + cs + "> does not exist.");
    }
    return mutate(*docs, c, in, [&](json& d) {
      if (cs.empty()) d.erase("configuration_set");
      else d["configuration_set"] = cs;
      return base::ok_status();
    });
  });

  auto policy_op = [docs](PolicyWrite mode) {
    return [docs, mode](const Caller& c, const json& in) {
      return mutate(*docs, c, in, [&](json& d) { return put_policy(d, str(in, "PolicyName"), str(in, "Policy"), mode); });
    };
  };
  t.add(v2, "CreateEmailIdentityPolicy", policy_op(PolicyWrite::kCreate));
  t.add(v2, "UpdateEmailIdentityPolicy", policy_op(PolicyWrite::kUpdate));

  t.add(v2, "DeleteEmailIdentityPolicy", [docs](const Caller& c, const json& in) {
    return mutate(*docs, c, in, [&](json& d) -> base::Status {
      std::string p = str(in, "PolicyName");
      if (!d["policies"].contains(p)) return base::make_error(ErrorCode::kNotFound, "Policy " + p + " does not exist.");
      d["policies"].erase(p);
      return base::ok_status();
    });
  });

  t.add(v2, "GetEmailIdentityPolicies", [docs](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto name, identity::normalize(str(in, "EmailIdentity")));
    SESAME_ASSIGN(auto d, docs->require(c, kind::kIdentity, name, missing(name)));
    return json{{"Policies", d.value("policies", json::object())}};
  });
}

}  // namespace sesame::service
