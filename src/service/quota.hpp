// Sending quotas (reference §8): SES starts every account in the sandbox (200 messages per
// 24 hours at 1 per second); production access gives 50,000 at 14 per second. An operator
// raises them per account and region (`sesame account quota`), as an SES quota increase.
#pragma once

#include "service/handler.hpp"

namespace sesame::service {

struct Quota {
  double max_24h;
  double max_rate;
};

/// `settings` is the account's settings document for the region (may be empty).
inline Quota effective_quota(const json& settings, bool production) {
  Quota q = production ? Quota{50000, 14} : Quota{200, 1};
  if (settings.is_object()) {
    if (settings.contains("max_24_hour_send") && settings["max_24_hour_send"].is_number())
      q.max_24h = settings["max_24_hour_send"].get<double>();
    if (settings.contains("max_send_rate") && settings["max_send_rate"].is_number())
      q.max_rate = settings["max_send_rate"].get<double>();
  }
  return q;
}

}  // namespace sesame::service
