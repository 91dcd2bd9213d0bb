#include "queue/scheduler.hpp"

#include <algorithm>
#include <cmath>

namespace sesame::queue {

double RetryPolicy::delay(int attempts_made) const {
  int n = std::clamp(attempts_made - 1, 0, 30);
  return std::min(base_seconds * std::ldexp(1.0, n), max_interval_seconds);
}

void Scheduler::add(Job job) { timed_.push(std::move(job)); }

void Scheduler::promote(double now) {
  while (!timed_.empty() && timed_.top().due <= now) {
    // priority_queue::top is const; moving out of it before pop is the usual idiom.
    Job job = std::move(const_cast<Job&>(timed_.top()));
    timed_.pop();
    Domain& d = domains_[job.domain];
    if (!d.in_rotation) {
      d.in_rotation = true;
      rotation_.push_back(job.domain);
    }
    d.ready.push_back(std::move(job));
    ++ready_count_;
  }
}

std::optional<Job> Scheduler::take(double now) {
  promote(now);
  if (running_ >= std::size_t(limits_.global)) return std::nullopt;
  for (std::size_t i = 0, n = rotation_.size(); i < n; ++i) {
    std::string name = std::move(rotation_.front());
    rotation_.pop_front();
    auto it = domains_.find(name);
    Domain& d = it->second;
    if (d.ready.empty()) {
      d.in_rotation = false;
      if (d.active == 0) domains_.erase(it);
      continue;
    }
    if (d.active >= limits_.per_domain) {
      rotation_.push_back(std::move(name));
      continue;
    }
    Job job = std::move(d.ready.front());
    d.ready.pop_front();
    --ready_count_;
    ++d.active;
    ++running_;
    if (d.ready.empty()) {
      d.in_rotation = false;
    } else {
      rotation_.push_back(std::move(name));
    }
    return job;
  }
  return std::nullopt;
}

std::optional<Job> Scheduler::take_next(const std::string& domain, double now) {
  promote(now);
  auto it = domains_.find(domain);
  if (it == domains_.end() || it->second.ready.empty() || it->second.active == 0) return std::nullopt;
  Job job = std::move(it->second.ready.front());
  it->second.ready.pop_front();  // an emptied domain leaves the rotation at its turn in take()
  --ready_count_;
  return job;
}

void Scheduler::finish(const std::string& domain) {
  auto it = domains_.find(domain);
  if (it == domains_.end()) return;
  if (running_ > 0) --running_;
  Domain& d = it->second;
  if (d.active > 0) --d.active;
  if (d.active == 0 && d.ready.empty() && !d.in_rotation) domains_.erase(it);
}

bool Scheduler::can_start() const {
  if (running_ >= std::size_t(limits_.global)) return false;
  // The next domains in turn (a bounded look: a domain further back that could start is
  // taken by the next worker to finish, or by the waiting workers' timed wake-up).
  std::size_t looked = 0;
  for (const auto& name : rotation_) {
    if (++looked > 16) break;
    auto it = domains_.find(name);
    if (it != domains_.end() && !it->second.ready.empty() && it->second.active < limits_.per_domain) return true;
  }
  return false;
}

std::optional<double> Scheduler::next_due() const {
  if (timed_.empty()) return std::nullopt;
  return timed_.top().due;
}

}  // namespace sesame::queue
