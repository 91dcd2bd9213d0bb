#include "base/thread.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace sesame::base {

bool run_as_batch_work(int nice) {
  sched_param param{};
  // pid 0 and gettid() both name the calling thread only.
  bool ok = sched_setscheduler(0, SCHED_BATCH, &param) == 0;
  if (nice != 0) ok = setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) == 0 && ok;
  return ok;
}

}  // namespace sesame::base
