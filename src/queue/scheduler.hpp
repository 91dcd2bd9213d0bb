// When each delivery attempt runs, and how many run at once. Pure logic over times the
// caller passes in: a timed heap of waiting jobs, and per-destination-domain ready queues
// served round-robin under a per-domain and a global concurrency limit. The delivery
// engine owns one and calls it under its own lock.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/store.hpp"

namespace sesame::queue {

/// One delivery attempt: the recipients of one message at one destination domain (one SMTP
/// transaction carries them all).
struct Job {
  std::string message_id;
  std::string domain;  // lower-case destination domain
  std::vector<std::string> recipients;
  int attempts = 0;  // attempts already made
  double due = 0;    // epoch seconds
  /// The message itself when it was handed over in memory at acceptance (first attempt
  /// only, within a memory budget); otherwise delivery reads it from the store.
  std::shared_ptr<const store::MessageRecord> message;
};

struct Limits {
  int per_domain = 8;  // concurrent transactions to one destination domain
  int global = 32;     // concurrent transactions in all
};

/// Exponential backoff: base, 2*base, 4*base ... capped at max_interval.
struct RetryPolicy {
  double base_seconds = 60;
  double max_interval_seconds = 3600;
  double delay(int attempts_made) const;
};

class Scheduler {
 public:
  explicit Scheduler(Limits limits) : limits_(limits) {}

  void add(Job job);
  /// The next job that may start now, or nothing (none due, or every due domain at its limit).
  std::optional<Job> take(double now);
  /// The next ready job for `domain`, to run in the slot of a job already taken from it
  /// (the same connection: the next transaction pipelined behind the current one). Counts
  /// no new slot; nothing when none of the domain's jobs is ready.
  std::optional<Job> take_next(const std::string& domain, double now);
  /// A job taken from `domain` has finished (its slot is free again).
  void finish(const std::string& domain);
  /// When the earliest waiting job falls due (nothing when none waits).
  std::optional<double> next_due() const;
  /// Whether a ready job could start now: under the global limit, and one of the next 16
  /// domains in turn under its own. A hint for waking another worker: a domain further back
  /// may have room when this says no; the next worker to finish a job, or the waiting
  /// workers' timed wake-up (a quarter of a second while jobs are ready), takes it.
  bool can_start() const;
  /// Jobs that may start now by their time (those due are moved to the ready queues
  /// first), whether or not their domain has a free slot.
  std::size_t ready(double now) {
    promote(now);
    return ready_count_;
  }
  /// Jobs waiting (timed or ready), and running.
  std::size_t waiting() const { return timed_.size() + ready_count_; }
  std::size_t running() const { return running_; }

 private:
  struct Later {
    bool operator()(const Job& a, const Job& b) const { return a.due > b.due; }
  };
  struct Domain {
    std::deque<Job> ready;
    int active = 0;
    bool in_rotation = false;
  };
  void promote(double now);

  Limits limits_;
  std::priority_queue<Job, std::vector<Job>, Later> timed_;
  std::unordered_map<std::string, Domain> domains_;
  std::deque<std::string> rotation_;  // domains with ready jobs, served in turn
  std::size_t ready_count_ = 0;
  std::size_t running_ = 0;
};

}  // namespace sesame::queue

namespace sesame::queue {

/// Where sending::accept() hands a committed message to delivery (the engine implements
/// it). Called after the durable commit, so a crash before it loses nothing: recovery on
/// restart finds the recipients still queued.
class Intake {
 public:
  virtual ~Intake() = default;
  virtual void submit(store::MessageRecord message) = 0;
};

}  // namespace sesame::queue
