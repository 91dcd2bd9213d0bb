#include "service/identity_attributes.hpp"

#include "service/identity.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
}

base::Status put_policy(json& d, const std::string& name, const std::string& policy, PolicyWrite mode) {
  if (!valid_name(name))
    return base::make_error(ErrorCode::kInvalidParameter,
                            "Invalid policy name <" + name + ">: only alphanumeric characters, '-' and '_' are allowed.");
  if (policy.size() > 4096) return base::make_error(ErrorCode::kInvalidParameter, "Policy exceeds 4 KB.", "policy");
  json p = json::parse(policy, nullptr, false);
  if (p.is_discarded() || !p.is_object() || !p.contains("Statement"))
    return base::make_error(ErrorCode::kInvalidParameter, "Policy is not valid JSON with a Statement.", "policy");
  json& policies = d["policies"];
  bool exists = policies.contains(name);
  if (mode == PolicyWrite::kCreate && exists)
    return base::make_error(ErrorCode::kAlreadyExists, "Policy " + name + " already exists.", "policy");
  if (mode == PolicyWrite::kUpdate && !exists)
    return base::make_error(ErrorCode::kNotFound, "Policy " + name + " does not exist.", "policy");
  if (!exists && policies.size() >= 20)
    return base::make_error(ErrorCode::kLimitExceeded, "An identity can have at most 20 policies.");
  policies[name] = policy;
  return base::ok_status();
}

base::Status set_mail_from(Services& s, json& d, const std::string& identity_name, const std::string& domain_raw,
                           const std::string& behavior) {
  if (domain_raw.empty()) {
    d.erase("mail_from");
    return base::ok_status();
  }
  auto domain = identity::normalize(domain_raw);
  auto identity = identity::normalize(identity_name);
  std::string parent = identity::domain_of(identity.ok() ? identity.value() : identity_name);
  if (!domain.ok() || identity::is_email(*domain) || domain.value() == parent ||
      domain->size() <= parent.size() + 1 || domain->compare(domain->size() - parent.size() - 1, std::string::npos, "." + parent) != 0) {
    return base::make_error(ErrorCode::kInvalidParameter,
                            "Invalid custom MAIL FROM domain <" + domain_raw + ">: it must be a subdomain of " + parent + ".");
  }
  json mf = d.value("mail_from", json::object());
  if (mf.value("domain", "") != *domain) {
    mf = json{{"domain", *domain}, {"status", "PENDING"}, {"started", s.clock.now()}};
  }
  mf["behavior"] = behavior;
  d["mail_from"] = mf;
  return base::ok_status();
}

base::Status set_feedback_forwarding(json& d, bool enabled) {
  if (!enabled) {
    json topics = d.value("topics", json::object());
    if (topics.value("Bounce", "").empty() || topics.value("Complaint", "").empty())
      return base::make_error(ErrorCode::kInvalidParameter,
                              "Feedback forwarding can be disabled only when bounce and complaint notification topics are set.");
  }
  d["feedback_forwarding"] = enabled;
  return base::ok_status();
}

}  // namespace sesame::service
