// A scheduling hint for the server's own CPU-bound threads (Linux: per thread).
#pragma once

namespace sesame::base {

/// Marks the calling thread as throughput work: SCHED_BATCH. When such a thread wakes it
/// waits for the running thread's slice instead of preempting it, so a signature or a
/// delivery does not cut into the I/O and commit threads that answer clients
/// (docs/benchmarks.md: with one signing thread per core, 5.3 context switches per SMTP
/// message became 4.7 and the submission rate rose about 6 %). A `nice` other than 0 is
/// set as the thread's nice value (5 lowers its share under load). Returns false when the
/// system refused; the thread then runs as before.
bool run_as_batch_work(int nice = 0);

}  // namespace sesame::base
