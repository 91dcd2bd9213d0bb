#include "queue/throttle.hpp"

#include <algorithm>
#include <cmath>

namespace sesame::queue {

void TokenBucket::refill(double now) {
  if (last_ >= 0 && now > last_) tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
  last_ = std::max(last_, now);
}

bool TokenBucket::try_take(double now, double n) {
  refill(now);
  if (tokens_ + 1e-9 < n) return false;
  tokens_ -= n;
  return true;
}

void TokenBucket::set_rate(double rate, double burst) {
  rate_ = rate;
  burst_ = burst;
  tokens_ = std::min(tokens_, burst_);
}

void RollingDay::advance(double now) {
  auto idx = static_cast<std::int64_t>(std::floor(now / kWidth));
  if (head_ < 0) {
    head_ = idx;
    return;
  }
  if (idx <= head_) return;
  // Clear the buckets that fall out of the window as time moves on.
  for (std::int64_t i = head_ + 1; i <= idx && i <= head_ + kBuckets; ++i) buckets_[std::size_t(i % kBuckets)] = 0;
  head_ = idx;
}

void RollingDay::add(double now, std::uint64_t n) {
  advance(now);
  auto idx = static_cast<std::int64_t>(std::floor(now / kWidth));
  if (idx <= head_ - kBuckets) return;  // older than the window
  buckets_[std::size_t(idx % kBuckets)] += n;
}

std::uint64_t RollingDay::count(double now) {
  advance(now);
  std::uint64_t sum = 0;
  for (auto b : buckets_) sum += b;
  return sum;
}

}  // namespace sesame::queue
