#include "queue/scheduler.hpp"

#include <gtest/gtest.h>

namespace sesame::queue {
namespace {

Job job(const std::string& id, const std::string& domain, double due) { return Job{id, domain, {"a@" + domain}, 0, due}; }

TEST(Scheduler, JobsWaitUntilDue) {
  Scheduler s({8, 32});
  s.add(job("m1", "a.test", 100));
  EXPECT_FALSE(s.take(99).has_value());
  ASSERT_EQ(s.next_due().value(), 100);
  auto j = s.take(100);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->message_id, "m1");
  EXPECT_EQ(s.running(), 1u);
  s.finish("a.test");
  EXPECT_EQ(s.running(), 0u);
  EXPECT_EQ(s.waiting(), 0u);
}

TEST(Scheduler, EarliestFirstWithinADomain) {
  Scheduler s({8, 32});
  s.add(job("late", "a.test", 50));
  s.add(job("early", "a.test", 10));
  EXPECT_EQ(s.take(60)->message_id, "early");
  EXPECT_EQ(s.take(60)->message_id, "late");
}

TEST(Scheduler, PerDomainLimitLetsOtherDomainsThrough) {
  Scheduler s({1, 32});
  s.add(job("a1", "a.test", 0));
  s.add(job("a2", "a.test", 0));
  s.add(job("b1", "b.test", 0));
  auto first = s.take(1);
  auto second = s.take(1);
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->domain, second->domain);
  EXPECT_FALSE(s.take(1).has_value());  // a.test is at its limit, b.test is empty
  s.finish("a.test");
  auto third = s.take(1);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->message_id, "a2");
}

TEST(Scheduler, TakeNextRunsADomainsJobsInTheSlotAlreadyTaken) {
  Scheduler s({1, 32});
  s.add(job("a1", "a.test", 0));
  s.add(job("a2", "a.test", 0.05));
  s.add(job("a3", "a.test", 5));
  s.add(job("b1", "b.test", 0.5));
  EXPECT_FALSE(s.take_next("a.test", 0.1).has_value());  // no job of the domain is running
  EXPECT_EQ(s.take(0.1)->message_id, "a1");
  EXPECT_FALSE(s.take(0.1).has_value());  // a.test is at its limit of 1, b1 is not due
  EXPECT_EQ(s.take_next("a.test", 1)->message_id, "a2");
  EXPECT_FALSE(s.take_next("a.test", 1).has_value());  // a3 is not due yet
  EXPECT_EQ(s.take_next("a.test", 5)->message_id, "a3");
  EXPECT_EQ(s.running(), 1u);  // no new slot was counted
  EXPECT_EQ(s.take(5)->message_id, "b1");
  EXPECT_FALSE(s.take_next("b.test", 5).has_value());
  s.finish("a.test");
  s.finish("b.test");
  EXPECT_EQ(s.running(), 0u);
  EXPECT_EQ(s.waiting(), 0u);
}

TEST(Scheduler, CanStartSaysWhetherAnotherWorkerIsNeeded) {
  Scheduler s({2, 3});
  EXPECT_FALSE(s.can_start());
  for (int i = 0; i < 3; ++i) s.add(job("a" + std::to_string(i), "a.test", 0));
  s.add(job("b0", "b.test", 0));
  EXPECT_FALSE(s.can_start());  // not yet due: take() promotes
  ASSERT_TRUE(s.take(1));
  EXPECT_TRUE(s.can_start());
  ASSERT_TRUE(s.take(1));
  EXPECT_TRUE(s.can_start());
  ASSERT_TRUE(s.take(1));      // the global limit (3) is reached
  EXPECT_FALSE(s.can_start());
  s.finish("a.test");
  EXPECT_TRUE(s.can_start());
  s.add(job("b1", "b.test", 0));
  ASSERT_TRUE(s.take(1));
  EXPECT_FALSE(s.can_start());  // global limit again
}

TEST(Scheduler, CanStartLooksPastADomainAtItsLimit) {
  Scheduler s({1, 8});
  for (const char* id : {"a0", "a1"}) s.add(job(id, "a.test", 0));
  for (const char* id : {"b0", "b1"}) s.add(job(id, "b.test", 0.5));  // promoted after a.test: a.test is first in turn
  ASSERT_TRUE(s.take(1));
  ASSERT_TRUE(s.take(1));
  EXPECT_FALSE(s.can_start());  // both domains at their limit of one
  s.finish("b.test");           // b.test has room again; a.test (at its limit) is next in turn
  EXPECT_TRUE(s.can_start());
  auto next = s.take(1);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->domain, "b.test");
}

TEST(Scheduler, ReadyCountsDueJobsWhetherOrNotTheirDomainHasRoom) {
  Scheduler s({1, 32});
  s.add(job("a1", "a.test", 0));
  s.add(job("a2", "a.test", 0));
  s.add(job("later", "b.test", 100));
  EXPECT_EQ(s.ready(1), 2u);  // both of a.test, not the one due at 100
  ASSERT_TRUE(s.take(1).has_value());
  EXPECT_EQ(s.ready(1), 1u);  // a2 waits for a.test's only slot, but it is due
  EXPECT_FALSE(s.can_start());
  EXPECT_EQ(s.ready(100), 2u);
}

TEST(Scheduler, GlobalLimit) {
  Scheduler s({8, 2});
  for (int i = 0; i < 5; ++i) s.add(job("m" + std::to_string(i), "d" + std::to_string(i) + ".test", 0));
  EXPECT_TRUE(s.take(1));
  EXPECT_TRUE(s.take(1));
  EXPECT_FALSE(s.take(1));
  s.finish("d0.test");
  EXPECT_TRUE(s.take(1));
  EXPECT_EQ(s.waiting(), 2u);
}

TEST(Scheduler, RoundRobinAcrossDomains) {
  Scheduler s({8, 32});
  for (int i = 0; i < 3; ++i) s.add(job("a" + std::to_string(i), "a.test", 0));
  s.add(job("b0", "b.test", 0));
  std::vector<std::string> order;
  while (auto j = s.take(1)) order.push_back(j->message_id);
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order[0], "a0");
  EXPECT_EQ(order[1], "b0");  // b.test is not starved behind a.test's backlog
}

TEST(RetryPolicy, DoublesUpToTheCap) {
  RetryPolicy p{60, 3600};
  EXPECT_EQ(p.delay(1), 60);
  EXPECT_EQ(p.delay(2), 120);
  EXPECT_EQ(p.delay(3), 240);
  EXPECT_EQ(p.delay(10), 3600);
  EXPECT_EQ(p.delay(1000), 3600);
}

}  // namespace
}  // namespace sesame::queue
