// The account-level suppression list (SES v2 PutSuppressedDestination,
// GetSuppressedDestination, ListSuppressedDestinations, DeleteSuppressedDestination), per
// account and region. Sending consults it (sending.cpp: suppressed recipients are not
// attempted and bounce with sub-type OnAccountSuppressionList); delivery adds hard-bounced
// addresses when the effective SuppressedReasons include BOUNCE.
#include "base/encoding.hpp"
#include "service/documents.hpp"
#include "service/identity.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
using base::Result;

std::string not_listed(const std::string& a) { return "Email address " + a + " does not exist on your suppression list."; }

/// The list's key: the identity rules' validation (identity::normalize), then lower case.
Result<std::string> address_of(const json& in) {
  SESAME_ASSIGN(auto a, identity::normalize(str(in, "EmailAddress")));
  if (!identity::is_email(a))
    return base::make_error(ErrorCode::kInvalidParameter, "Invalid email address <" + str(in, "EmailAddress") + ">.");
  return base::to_lower_ascii(a);
}
}  // namespace

void register_suppression(HandlerTable& t, Services& s) {
  const Api v2 = Api::kV2;
  t.add(v2, "PutSuppressedDestination", [&s](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto address, address_of(in));
    const std::string reason = str(in, "Reason");
    if (reason != "BOUNCE" && reason != "COMPLAINT")
      return base::make_error(ErrorCode::kInvalidParameter, "Reason must be BOUNCE or COMPLAINT.");
    const double now = s.clock.now();
    SESAME_CHECK(s.store.write([&](store::Txn& txn) {
      return txn.suppress(c.account_id, c.region, store::Suppressed{address, reason, now, "", ""});
    }));
    return json::object();
  });
  t.add(v2, "GetSuppressedDestination", [&s](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto address, address_of(in));
    SESAME_ASSIGN(auto e, s.store.suppressed(c.account_id, c.region, address));
    if (!e) return base::make_error(ErrorCode::kNotFound, not_listed(address));
    json d{{"EmailAddress", e->address}, {"Reason", e->reason}, {"LastUpdateTime", e->updated}};
    json attrs = json::object();
    if (!e->message_id.empty()) attrs["MessageId"] = e->message_id;
    if (!e->feedback_id.empty()) attrs["FeedbackId"] = e->feedback_id;
    if (!attrs.empty()) d["Attributes"] = attrs;
    return json{{"SuppressedDestination", d}};
  });
  t.add(v2, "DeleteSuppressedDestination", [&s](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto address, address_of(in));
    bool removed = false;
    SESAME_CHECK(s.store.write([&](store::Txn& txn) -> base::Status {
      SESAME_ASSIGN(removed, txn.unsuppress(c.account_id, c.region, address));
      return base::ok_status();
    }));
    if (!removed) return base::make_error(ErrorCode::kNotFound, not_listed(address));
    return json::object();
  });
  t.add(v2, "ListSuppressedDestinations", [&s](const Caller& c, const json& in) -> Result<json> {
    std::vector<std::string> reasons;
    for (const auto& r : in.value("Reasons", json::array())) reasons.push_back(r.get<std::string>());
    const double start = in.contains("StartDate") ? in["StartDate"].get<double>() : 0.0;
    const double end = in.contains("EndDate") ? in["EndDate"].get<double>() : 1e18;
    std::size_t page = 100;
    if (in.contains("PageSize")) page = std::size_t(std::clamp(in["PageSize"].get<long long>(), 1LL, 1000LL));
    std::string after;
    if (std::string token = str(in, "NextToken"); !token.empty()) {
      auto decoded = base::base64_decode(token);
      if (!decoded) return base::make_error(ErrorCode::kInvalidParameter, "Invalid NextToken.");
      after = *decoded;
    }
    SESAME_ASSIGN(auto list, s.store.list_suppressed(c.account_id, c.region, reasons, start, end, after, page + 1));
    json items = json::array();
    for (std::size_t i = 0; i < list.size() && i < page; ++i)
      items.push_back(json{{"EmailAddress", list[i].address}, {"Reason", list[i].reason}, {"LastUpdateTime", list[i].updated}});
    json out{{"SuppressedDestinationSummaries", items}};
    if (list.size() > page) out["NextToken"] = base::base64_encode(list[page - 1].address);
    return out;
  });
}

}  // namespace sesame::service
