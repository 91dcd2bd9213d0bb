// base/thread: the scheduling hint really changes the calling thread, and only it.
#include "base/thread.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <thread>

namespace sesame::base {
namespace {

TEST(Thread, BatchWorkChangesTheCallingThreadOnly) {
  const int policy_before = sched_getscheduler(0);
  const int nice_before = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  // A nice value at or above the current one needs no privilege.
  const int want = nice_before > 5 ? nice_before : 5;
  int policy = -1, nice = -100;
  bool ok = false;
  std::thread t([&] {
    ok = run_as_batch_work(want);
    policy = sched_getscheduler(0);
    nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  });
  t.join();
  ASSERT_TRUE(ok);
  EXPECT_EQ(policy, SCHED_BATCH);
  EXPECT_EQ(nice, want);
  // The thread that asked for nothing is as it was.
  EXPECT_EQ(sched_getscheduler(0), policy_before);
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), nice_before);
}

}  // namespace
}  // namespace sesame::base
