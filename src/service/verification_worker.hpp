// Re-checks the DNS records of every identity still pending verification, periodically,
// on its own thread (lookups block; they never run on I/O threads).
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "service/services.hpp"

namespace sesame::service {

class VerificationWorker {
 public:
  VerificationWorker(Services& services, double interval_seconds);
  ~VerificationWorker();
  void start();
  void stop();
  /// One pass over all pending identities; returns how many changed.
  std::size_t run_once();

 private:
  Services& s_;
  double interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sesame::service
