// Sending limits as SES applies them (reference §11): a maximum send rate (token bucket,
// one token per message, refilled at MaxSendRate per second) and a rolling 24-hour count
// (Max24HourSend). Pure logic over an injected clock; the caller keeps one per account and
// region and restores the 24-hour window from the store after a restart.
#pragma once

#include <array>
#include <cstdint>

#include "base/clock.hpp"

namespace sesame::queue {

class TokenBucket {
 public:
  /// `rate` tokens per second, holding at most `burst` (SES allows short bursts at the rate).
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
  /// Takes `n` tokens if available now.
  bool try_take(double now, double n = 1);
  void set_rate(double rate, double burst);

 private:
  void refill(double now);
  double rate_, burst_, tokens_;
  double last_ = -1;
};

/// Counts events over the last 24 hours in 5-minute buckets (288), so the count is exact
/// to five minutes at the window's old edge, and memory is constant.
class RollingDay {
 public:
  void add(double now, std::uint64_t n = 1);
  std::uint64_t count(double now);

 private:
  static constexpr int kBuckets = 288;
  static constexpr double kWidth = 300;
  void advance(double now);
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::int64_t head_ = -1;  // index (since epoch) of the newest bucket
};

}  // namespace sesame::queue
