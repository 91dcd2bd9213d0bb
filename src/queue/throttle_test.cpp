#include "queue/throttle.hpp"

#include <gtest/gtest.h>

namespace sesame::queue {
namespace {

TEST(TokenBucket, SandboxRateOnePerSecond) {
  TokenBucket b(1, 1);
  EXPECT_TRUE(b.try_take(100.0));
  EXPECT_FALSE(b.try_take(100.5));
  EXPECT_TRUE(b.try_take(101.0));
  EXPECT_FALSE(b.try_take(101.2));
}

TEST(TokenBucket, BurstAndRefillCap) {
  TokenBucket b(14, 14);
  for (int i = 0; i < 14; ++i) EXPECT_TRUE(b.try_take(0));
  EXPECT_FALSE(b.try_take(0));
  EXPECT_TRUE(b.try_take(1.0 / 14 + 1e-6));
  // A long idle time refills only up to the burst.
  int taken = 0;
  while (b.try_take(1000)) ++taken;
  EXPECT_EQ(taken, 14);
}

TEST(RollingDay, CountsTheLast24Hours) {
  RollingDay d;
  d.add(0, 150);
  d.add(3600, 50);
  EXPECT_EQ(d.count(3600), 200u);
  EXPECT_EQ(d.count(86400 - 1), 200u);
  EXPECT_EQ(d.count(86400 + 300), 50u);  // the first bucket left the window
  EXPECT_EQ(d.count(3 * 86400), 0u);
  d.add(3 * 86400, 1);
  EXPECT_EQ(d.count(3 * 86400 + 10), 1u);
}

}  // namespace
}  // namespace sesame::queue
