// The account view of one (account, region): quotas (sandbox: 200 messages per 24 hours
// at 1 per second, as SES starts every account; production: 50,000 at 14 per second),
// sending enabled, account details and production-access review, suppression attributes,
// and resource tags (TagResource / UntagResource / ListTagsForResource).
#include <map>

#include "service/documents.hpp"
#include "service/reputation.hpp"
#include "service/identity.hpp"
#include "service/quota.hpp"
#include "service/sending.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
using base::Result;


class Account {
 public:
  explicit Account(Services& s) : s_(s), docs_(s) {}

  Result<json> settings(const Caller& c) {
    SESAME_ASSIGN(auto doc, docs_.find(c, kind::kAccount, ""));
    return doc ? *doc : json::object();
  }
  Result<bool> production(const Caller& c) {
    SESAME_ASSIGN(auto acct, s_.store.find_account(c.account_id));
    return acct && acct->production;
  }
  Result<json> change(const Caller& c, const std::function<base::Status(json&)>& f) {
    SESAME_CHECK(docs_.update(c, kind::kAccount, "", f, "", true));
    return json::object();
  }
  Result<json> send_quota(const Caller& c) {
    SESAME_ASSIGN(auto prod, production(c));
    SESAME_ASSIGN(auto st, settings(c));
    Quota q = effective_quota(st, prod);
    SESAME_ASSIGN(auto sent, sent_last_24_hours(s_, c));
    return json{{"Max24HourSend", q.max_24h}, {"MaxSendRate", q.max_rate}, {"SentLast24Hours", double(sent)}};
  }
  Documents& docs() { return docs_; }

 private:
  Services& s_;
  Documents docs_;
};

/// An SES ARN of this caller -> (document kind, name, tag member); kInvalidParameter otherwise.
struct Tagged {
  const char* kind;
  std::string name;
  const char* member;
};
Result<Tagged> parse_arn(const Caller& c, const std::string& arn) {
  const std::string prefix = "arn:aws:ses:" + c.region + ":" + c.account_id + ":";
  auto bad = base::make_error(ErrorCode::kNotFound, "Resource " + arn + " does not exist.");
  if (arn.rfind(prefix, 0) != 0) return bad;
  std::string rest = arn.substr(prefix.size());
  std::size_t slash = rest.find('/');
  if (slash == std::string::npos) return bad;
  std::string type = rest.substr(0, slash), name = rest.substr(slash + 1);
  if (type == "identity") {
    auto normalized = identity::normalize(name);
    if (!normalized.ok()) return bad;
    return Tagged{kind::kIdentity, normalized.value(), "tags"};
  }
  if (type == "configuration-set") return Tagged{kind::kConfigurationSet, name, "Tags"};
  if (type == "template") return Tagged{kind::kTemplate, name, "Tags"};
  if (type == "custom-verification-email-template") return Tagged{kind::kCustomVerificationTemplate, name, "Tags"};
  return bad;
}
}  // namespace

void register_account(HandlerTable& t, Services& s) {
  auto acct = std::make_shared<Account>(s);
  const Api v1 = Api::kV1, v2 = Api::kV2;

  t.add(v1, "GetSendQuota", [acct](const Caller& c, const json&) { return acct->send_quota(c); });
  t.add(v1, "GetSendStatistics", [&s](const Caller& c, const json&) -> Result<json> {
    // 15-minute intervals of the last two weeks that had activity (reference §8.2):
    // DeliveryAttempts counts accepted messages (Send events), Bounces the bounces.
    SESAME_ASSIGN(auto counts, s.store.event_counts(c.account_id, c.region, s.clock.now() - 14 * 86400));
    std::map<double, json> points;
    for (const auto& e : counts) {
      const char* field = e.type == "Send" ? "DeliveryAttempts" : e.type == "Bounce" ? "Bounces"
                          : e.type == "Complaint" ? "Complaints" : e.type == "Reject" ? "Rejects" : nullptr;
      if (!field) continue;
      auto [it, fresh] = points.try_emplace(e.interval_start, json{{"Timestamp", base::format_iso8601(e.interval_start)},
                                                                   {"DeliveryAttempts", 0}, {"Bounces", 0},
                                                                   {"Complaints", 0}, {"Rejects", 0}});
      it->second[field] = it->second[field].get<std::uint64_t>() + e.count;
    }
    json out = json::array();
    for (auto& [t, p] : points) out.push_back(std::move(p));
    return json{{"SendDataPoints", out}};
  });
  t.add(v1, "GetAccountSendingEnabled", [acct](const Caller& c, const json&) -> Result<json> {
    SESAME_ASSIGN(auto st, acct->settings(c));
    return json{{"Enabled", st.value("sending_enabled", true) && enforcement_status(st) != "SHUTDOWN"}};
  });
  t.add(v1, "UpdateAccountSendingEnabled", [acct](const Caller& c, const json& in) {
    return acct->change(c, [&](json& d) {
      d["sending_enabled"] = flag(in, "Enabled", true);
      return base::ok_status();
    });
  });
  t.add(v2, "PutAccountSendingAttributes", [acct](const Caller& c, const json& in) {
    return acct->change(c, [&](json& d) {
      d["sending_enabled"] = flag(in, "SendingEnabled", true);
      return base::ok_status();
    });
  });

  t.add(v2, "GetAccount", [acct](const Caller& c, const json&) -> Result<json> {
    SESAME_ASSIGN(auto st, acct->settings(c));
    SESAME_ASSIGN(auto prod, acct->production(c));
    SESAME_ASSIGN(auto quota, acct->send_quota(c));
    json out{{"DedicatedIpAutoWarmupEnabled", false},
             {"EnforcementStatus", enforcement_status(st)},
             {"ProductionAccessEnabled", prod},
             {"SendQuota", quota},
             {"SendingEnabled", st.value("sending_enabled", true) && enforcement_status(st) != "SHUTDOWN"},
             {"SuppressionAttributes", st.value("suppression", json{{"SuppressedReasons", json::array({"BOUNCE", "COMPLAINT"})}})}};
    if (st.contains("details")) out["Details"] = st["details"];
    return out;
  });

  t.add(v2, "PutAccountDetails", [acct, &s](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto prod, acct->production(c));
    return acct->change(c, [&](json& d) {
      json details = json::object();
      for (const char* k : {"MailType", "WebsiteURL", "ContactLanguage", "UseCaseDescription", "AdditionalContactEmailAddresses"})
        if (in.contains(k)) details[k] = in[k];
      if (d.contains("details") && d["details"].contains("ReviewDetails")) details["ReviewDetails"] = d["details"]["ReviewDetails"];
      // Production access is granted by the operator (sesame account create --production or
      // sesame account production); a request is recorded as a pending review.
      if (flag(in, "ProductionAccessEnabled", false) && !prod)
        details["ReviewDetails"] = json{{"Status", "PENDING"}, {"CaseId", "sesame-" + c.account_id + "-" + std::to_string(long(s.clock.now()))}};
      d["details"] = details;
      return base::ok_status();
    });
  });

  t.add(v2, "PutAccountSuppressionAttributes", [acct](const Caller& c, const json& in) {
    return acct->change(c, [&](json& d) {
      json sup{{"SuppressedReasons", in.value("SuppressedReasons", json::array())}};
      if (in.contains("ValidationAttributes")) sup["ValidationAttributes"] = in["ValidationAttributes"];
      d["suppression"] = sup;
      return base::ok_status();
    });
  });

  t.add(v2, "ListTagsForResource", [acct](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto r, parse_arn(c, str(in, "ResourceArn")));
    SESAME_ASSIGN(auto doc, acct->docs().require(c, r.kind, r.name, "Resource " + str(in, "ResourceArn") + " does not exist."));
    return json{{"Tags", doc.value(r.member, json::array())}};
  });
  t.add(v2, "TagResource", [acct](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto r, parse_arn(c, str(in, "ResourceArn")));
    SESAME_CHECK(check_tags(in["Tags"]));
    SESAME_CHECK(acct->docs().update(c, r.kind, r.name, [&](json& d) -> base::Status {
      json merged = merge_tags(d.value(r.member, json::array()), in["Tags"]);
      SESAME_CHECK(check_tags(merged));
      d[r.member] = merged;
      return base::ok_status();
    }, "Resource " + str(in, "ResourceArn") + " does not exist."));
    return json::object();
  });
  t.add(v2, "UntagResource", [acct](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto r, parse_arn(c, str(in, "ResourceArn")));
    SESAME_CHECK(acct->docs().update(c, r.kind, r.name, [&](json& d) {
      json kept = json::array();
      for (const auto& tag : d.value(r.member, json::array())) {
        bool drop = false;
        for (const auto& k : in.value("TagKeys", json::array())) drop = drop || tag.value("Key", "") == k.get<std::string>();
        if (!drop) kept.push_back(tag);
      }
      d[r.member] = kept;
      return base::ok_status();
    }, "Resource " + str(in, "ResourceArn") + " does not exist."));
    return json::object();
  });
}

}  // namespace sesame::service
