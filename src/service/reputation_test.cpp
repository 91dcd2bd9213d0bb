// Reputation's enforcement rule: review and pause thresholds, minimum volume, and a pause
// that only the operator lifts.
#include "service/reputation.hpp"

#include <gtest/gtest.h>

namespace sesame::service {
namespace {

TEST(Reputation, Thresholds) {
  ReputationOptions o;  // SES's: bounces 5% review / 10% pause, complaints 0.1% / 0.5%
  auto rates = [](std::uint64_t d, std::uint64_t b, std::uint64_t c) { return Rates{d, b, c}; };
  EXPECT_EQ(enforcement(rates(1000, 10, 0), "HEALTHY", o), "HEALTHY");
  EXPECT_EQ(enforcement(rates(950, 55, 0), "HEALTHY", o), "PROBATION");
  EXPECT_EQ(enforcement(rates(900, 110, 0), "HEALTHY", o), "SHUTDOWN");
  EXPECT_EQ(enforcement(rates(1000, 0, 2), "HEALTHY", o), "PROBATION");
  EXPECT_EQ(enforcement(rates(1000, 0, 5), "HEALTHY", o), "SHUTDOWN");
  // Too little volume to judge: nothing changes (an ongoing review stays).
  EXPECT_EQ(enforcement(rates(10, 10, 10), "HEALTHY", o), "HEALTHY");
  EXPECT_EQ(enforcement(rates(10, 10, 10), "PROBATION", o), "PROBATION");
  // A review ends when the rates are good again; a pause does not end by itself.
  EXPECT_EQ(enforcement(rates(1000, 1, 0), "PROBATION", o), "HEALTHY");
  EXPECT_EQ(enforcement(rates(1000, 0, 0), "SHUTDOWN", o), "SHUTDOWN");
  EXPECT_DOUBLE_EQ(rates(90, 10, 0).bounce_rate(), 0.1);
  EXPECT_DOUBLE_EQ(rates(0, 0, 0).complaint_rate(), 0);
}

TEST(Reputation, StoredStatus) {
  EXPECT_EQ(enforcement_status(json::object()), "HEALTHY");
  EXPECT_EQ(enforcement_status(json{{"enforcement", {{"status", "SHUTDOWN"}}}}), "SHUTDOWN");
}

}  // namespace
}  // namespace sesame::service
