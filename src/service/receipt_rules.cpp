// Receipt rule sets (their rules kept in order inside the set's document), the active
// rule set, and receipt IP filters (SES v1 receiving operations). Evaluation of the
// rules on inbound mail belongs to receiving/.
#include <arpa/inet.h>

#include <set>

#include "service/documents.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
using base::Result;

constexpr std::size_t kMaxRuleSets = 40;
constexpr std::size_t kMaxRules = 200;
constexpr std::size_t kMaxFilters = 100;
const char* kActiveKey = "active_rule_set";

std::string set_missing(const std::string& n) { return "Rule set does not exist: " + n; }
std::string rule_missing(const std::string& n) { return "Rule does not exist: " + n; }

bool valid_cidr(const std::string& cidr) {
  std::size_t slash = cidr.find('/');
  std::string addr = cidr.substr(0, slash);
  unsigned char buf[16];
  int max_prefix = 0;
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) max_prefix = 32;
  else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) max_prefix = 128;
  else return false;
  if (slash == std::string::npos) return true;
  std::string p = cidr.substr(slash + 1);
  if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  return std::stoi(p) <= max_prefix;
}

bool arn_of(const std::string& arn, const std::string& service) {
  return arn.rfind("arn:aws:" + service + ":", 0) == 0 && std::count(arn.begin(), arn.end(), ':') >= 5;
}

/// Checks a rule and fills SES's defaults.
base::Status normalize_rule(json& rule) {
  std::string name = str(rule, "Name");
  if (!valid_name(name, true, true))
    return base::make_error(ErrorCode::kInvalidParameter,
                            "Invalid rule name <" + name + ">: use letters, digits, '_', '-' or '.', starting and ending with a letter or digit, fewer than 64 characters.");
  if (!rule.contains("Enabled")) rule["Enabled"] = false;
  if (!rule.contains("ScanEnabled")) rule["ScanEnabled"] = false;
  if (!rule.contains("TlsPolicy")) rule["TlsPolicy"] = "Optional";
  const json recipients = rule.value("Recipients", json::array());
  if (recipients.size() > 100) return base::make_error(ErrorCode::kInvalidParameter, "A rule can have at most 100 recipients.");
  for (const auto& r : recipients)
    if (r.get<std::string>().empty() || r.get<std::string>().size() > 320)
      return base::make_error(ErrorCode::kInvalidParameter, "Invalid recipient <" + r.get<std::string>() + ">.");
  for (const auto& a : rule.value("Actions", json::array())) {
    int kinds = 0;
    for (const auto& [k, v] : a.items()) {
      ++kinds;
      std::string topic = v.value("TopicArn", "");
      if (!topic.empty() && !arn_of(topic, "sns"))
        return base::make_error(ErrorCode::kInvalidParameter, "Invalid SNS topic <" + topic + ">.", "sns-topic");
      if (k == "S3Action" && v.value("BucketName", "").empty())
        return base::make_error(ErrorCode::kInvalidParameter, "S3Action needs a BucketName.", "s3-configuration");
      if (k == "LambdaAction" && !arn_of(v.value("FunctionArn", ""), "lambda"))
        return base::make_error(ErrorCode::kInvalidParameter, "Invalid Lambda function <" + v.value("FunctionArn", "") + ">.",
                                "lambda-function");
    }
    if (kinds != 1) return base::make_error(ErrorCode::kInvalidParameter, "Each receipt action must have exactly one type.");
  }
  return base::ok_status();
}

base::Status check_set_name(const std::string& name) {
  if (!valid_name(name, false, true))
    return base::make_error(ErrorCode::kInvalidParameter,
                            "Invalid rule set name <" + name + ">: use letters, digits, '_' or '-', starting and ending with a letter or digit, fewer than 64 characters.");
  return base::ok_status();
}

long find_rule(const json& rules, const std::string& name) {
  for (std::size_t i = 0; i < rules.size(); ++i)
    if (rules[i].value("Name", "") == name) return long(i);
  return -1;
}

/// Position after `after` (or the front when empty); kNotFound when `after` is absent.
Result<std::size_t> insert_position(const json& rules, const std::string& after) {
  if (after.empty()) return std::size_t(0);
  long i = find_rule(rules, after);
  if (i < 0) return base::make_error(ErrorCode::kNotFound, rule_missing(after), "rule");
  return std::size_t(i + 1);
}

class ReceiptRules {
 public:
  explicit ReceiptRules(Services& s) : docs_(s) {}

  Result<json> create_set(const Caller& c, const std::string& name, json rules) {
    SESAME_CHECK(check_set_name(name));
    SESAME_ASSIGN(auto all, docs_.all(c, kind::kRuleSet));
    if (all.size() >= kMaxRuleSets) return base::make_error(ErrorCode::kLimitExceeded, "At most 40 receipt rule sets are allowed.");
    json doc{{"Name", name}, {"CreatedTimestamp", docs_.services().clock.now()}, {"Rules", std::move(rules)}};
    SESAME_CHECK(docs_.create(c, kind::kRuleSet, name, doc, "Rule set already exists: " + name));
    return json::object();
  }
  Result<json> get_set(const Caller& c, const std::string& name) {
    return docs_.require(c, kind::kRuleSet, name, set_missing(name));
  }
  Result<json> change_set(const Caller& c, const std::string& name, const std::function<base::Status(json&)>& f) {
    SESAME_CHECK(docs_.update(c, kind::kRuleSet, name, f, set_missing(name)));
    return json::object();
  }
  Result<json> delete_set(const Caller& c, const std::string& name) {
    SESAME_CHECK(docs_.transact(c, [&](DocTxn& t) -> base::Status {
      SESAME_ASSIGN(auto acct, t.get(kind::kAccount, ""));
      if (acct && acct->value(kActiveKey, std::string()) == name)
        return base::make_error(ErrorCode::kCannotDelete, "Cannot delete active rule set: " + name);
      SESAME_CHECK(t.erase(kind::kRuleSet, name));  // absent is fine, as in SES
      return base::ok_status();
    }));
    return json::object();
  }
  Result<std::string> active_name(const Caller& c) {
    SESAME_ASSIGN(auto acct, docs_.find(c, kind::kAccount, ""));
    if (!acct) return std::string();
    return acct->value(kActiveKey, std::string());
  }
  Result<json> set_active(const Caller& c, const std::string& name) {
    SESAME_CHECK(docs_.transact(c, [&](DocTxn& t) -> base::Status {
      if (!name.empty()) {
        SESAME_ASSIGN(auto set, t.get(kind::kRuleSet, name));
        if (!set) return base::make_error(ErrorCode::kNotFound, set_missing(name), kind::kRuleSet);
      }
      SESAME_ASSIGN(auto acct, t.get(kind::kAccount, ""));
      json d = acct ? *acct : json::object();
      if (name.empty()) d.erase(kActiveKey);
      else d[kActiveKey] = name;
      return t.put(kind::kAccount, "", d);
    }));
    return json::object();
  }
  Documents& docs() { return docs_; }

 private:
  Documents docs_;
};

json metadata(const json& set) {
  return json{{"Name", set.value("Name", "")}, {"CreatedTimestamp", set.value("CreatedTimestamp", 0.0)}};
}
}  // namespace

void register_receipt_rules(HandlerTable& t, Services& s) {
  auto rr = std::make_shared<ReceiptRules>(s);
  const Api v1 = Api::kV1;

  t.add(v1, "CreateReceiptRuleSet", [rr](const Caller& c, const json& in) { return rr->create_set(c, str(in, "RuleSetName"), json::array()); });
  t.add(v1, "DeleteReceiptRuleSet", [rr](const Caller& c, const json& in) { return rr->delete_set(c, str(in, "RuleSetName")); });
  t.add(v1, "DescribeReceiptRuleSet", [rr](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto set, rr->get_set(c, str(in, "RuleSetName")));
    return json{{"Metadata", metadata(set)}, {"Rules", set["Rules"]}};
  });
  t.add(v1, "ListReceiptRuleSets", [rr](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto page, rr->docs().page(c, kind::kRuleSet, in.value("NextToken", json()), 100));
    json sets = json::array();
    for (const auto& n : page.items) sets.push_back(metadata(n.doc));
    json out{{"RuleSets", sets}};
    if (page.next_token) out["NextToken"] = *page.next_token;
    return out;
  });
  t.add(v1, "CloneReceiptRuleSet", [rr](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto original, rr->get_set(c, str(in, "OriginalRuleSetName")));
    return rr->create_set(c, str(in, "RuleSetName"), original["Rules"]);
  });
  t.add(v1, "SetActiveReceiptRuleSet", [rr](const Caller& c, const json& in) { return rr->set_active(c, str(in, "RuleSetName")); });
  t.add(v1, "DescribeActiveReceiptRuleSet", [rr](const Caller& c, const json&) -> Result<json> {
    SESAME_ASSIGN(auto active, rr->active_name(c));
    if (active.empty()) return json::object();
    SESAME_ASSIGN(auto set, rr->docs().find(c, kind::kRuleSet, active));
    if (!set) return json::object();
    return json{{"Metadata", metadata(*set)}, {"Rules", (*set)["Rules"]}};
  });
  t.add(v1, "ReorderReceiptRuleSet", [rr](const Caller& c, const json& in) {
    return rr->change_set(c, str(in, "RuleSetName"), [&](json& set) -> base::Status {
      json reordered = json::array();
      const json names = in.value("RuleNames", json::array());
      std::set<std::string> seen;
      for (const auto& n : names) {
        if (!seen.insert(n.get<std::string>()).second)
          return base::make_error(ErrorCode::kInvalidParameter, "RuleNames lists " + n.get<std::string>() + " twice.");
        long i = find_rule(set["Rules"], n.get<std::string>());
        if (i < 0) return base::make_error(ErrorCode::kNotFound, rule_missing(n.get<std::string>()), "rule");
        reordered.push_back(set["Rules"][std::size_t(i)]);
      }
      if (reordered.size() != set["Rules"].size())
        return base::make_error(ErrorCode::kInvalidParameter, "RuleNames must list every rule of the rule set exactly once.");
      set["Rules"] = reordered;
      return base::ok_status();
    });
  });
  t.add(v1, "CreateReceiptRule", [rr](const Caller& c, const json& in) -> Result<json> {
    json rule = in["Rule"];
    SESAME_CHECK(normalize_rule(rule));
    return rr->change_set(c, str(in, "RuleSetName"), [&](json& set) -> base::Status {
      json& rules = set["Rules"];
      if (find_rule(rules, rule["Name"]) >= 0)
        return base::make_error(ErrorCode::kAlreadyExists, "Rule already exists: " + rule["Name"].get<std::string>());
      if (rules.size() >= kMaxRules) return base::make_error(ErrorCode::kLimitExceeded, "A rule set can have at most 200 rules.");
      SESAME_ASSIGN(auto pos, insert_position(rules, str(in, "After")));
      rules.insert(rules.begin() + long(pos), rule);
      return base::ok_status();
    });
  });
  t.add(v1, "UpdateReceiptRule", [rr](const Caller& c, const json& in) -> Result<json> {
    json rule = in["Rule"];
    SESAME_CHECK(normalize_rule(rule));
    return rr->change_set(c, str(in, "RuleSetName"), [&](json& set) -> base::Status {
      long i = find_rule(set["Rules"], rule["Name"]);
      if (i < 0) return base::make_error(ErrorCode::kNotFound, rule_missing(rule["Name"]), "rule");
      set["Rules"][std::size_t(i)] = rule;
      return base::ok_status();
    });
  });
  t.add(v1, "DeleteReceiptRule", [rr](const Caller& c, const json& in) {
    return rr->change_set(c, str(in, "RuleSetName"), [&](json& set) {
      long i = find_rule(set["Rules"], str(in, "RuleName"));
      if (i >= 0) set["Rules"].erase(std::size_t(i));  // absent is fine, as in SES
      return base::ok_status();
    });
  });
  t.add(v1, "DescribeReceiptRule", [rr](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto set, rr->get_set(c, str(in, "RuleSetName")));
    long i = find_rule(set["Rules"], str(in, "RuleName"));
    if (i < 0) return base::make_error(ErrorCode::kNotFound, rule_missing(str(in, "RuleName")), "rule");
    return json{{"Rule", set["Rules"][std::size_t(i)]}};
  });
  t.add(v1, "SetReceiptRulePosition", [rr](const Caller& c, const json& in) {
    return rr->change_set(c, str(in, "RuleSetName"), [&](json& set) -> base::Status {
      json& rules = set["Rules"];
      long i = find_rule(rules, str(in, "RuleName"));
      if (i < 0) return base::make_error(ErrorCode::kNotFound, rule_missing(str(in, "RuleName")), "rule");
      json rule = rules[std::size_t(i)];
      rules.erase(std::size_t(i));
      SESAME_ASSIGN(auto pos, insert_position(rules, str(in, "After")));
      rules.insert(rules.begin() + long(pos), rule);
      return base::ok_status();
    });
  });

  t.add(v1, "CreateReceiptFilter", [rr](const Caller& c, const json& in) -> Result<json> {
    const json& f = in["Filter"];
    std::string name = str(f, "Name");
    if (!valid_name(name, false, true))
      return base::make_error(ErrorCode::kInvalidParameter, "Invalid filter name <" + name + ">.");
    std::string cidr = f["IpFilter"].value("Cidr", "");
    if (!valid_cidr(cidr)) return base::make_error(ErrorCode::kInvalidParameter, "Invalid CIDR <" + cidr + ">.");
    SESAME_ASSIGN(auto all, rr->docs().all(c, kind::kReceiptFilter));
    if (all.size() >= kMaxFilters) return base::make_error(ErrorCode::kLimitExceeded, "At most 100 receipt filters are allowed.");
    SESAME_CHECK(rr->docs().create(c, kind::kReceiptFilter, name, f, "Filter already exists: " + name));
    return json::object();
  });
  t.add(v1, "DeleteReceiptFilter", [rr](const Caller& c, const json& in) -> Result<json> {
    SESAME_CHECK(rr->docs().erase(c, kind::kReceiptFilter, str(in, "FilterName")));
    return json::object();
  });
  t.add(v1, "ListReceiptFilters", [rr](const Caller& c, const json&) -> Result<json> {
    SESAME_ASSIGN(auto all, rr->docs().all(c, kind::kReceiptFilter));
    json filters = json::array();
    for (const auto& n : all) filters.push_back(n.doc);
    return json{{"Filters", filters}};
  });
}

}  // namespace sesame::service
