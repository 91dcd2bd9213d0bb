#include "service/verification_worker.hpp"

#include <chrono>

#include "base/log.hpp"
#include "service/identity.hpp"

namespace sesame::service {

VerificationWorker::VerificationWorker(Services& services, double interval_seconds)
    : s_(services), interval_(interval_seconds) {}

VerificationWorker::~VerificationWorker() { stop(); }

void VerificationWorker::start() {
  if (interval_ <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::unique_lock lk(mu_);
    while (!stopping_) {
      if (cv_.wait_for(lk, std::chrono::duration<double>(interval_), [&] { return stopping_; })) break;
      lk.unlock();
      std::size_t changed = run_once();
      if (changed) base::log().info("identity verification: {} identities re-checked", changed);
      lk.lock();
    }
  });
}

void VerificationWorker::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::size_t VerificationWorker::run_once() {
  auto keys = s_.store.keys_of_kind(kind::kIdentity);
  if (!keys.ok()) {
    base::log().warn("identity verification: cannot list identities: {}", keys.error().message);
    return 0;
  }
  Documents docs(s_);
  std::size_t changed = 0;
  for (const auto& k : keys.value()) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) break;
    }
    Caller c{k.account, k.region, "", ""};
    auto before = docs.find(c, kind::kIdentity, k.name);
    if (!before.ok() || !before.value()) continue;
    auto after = identity::load_fresh(docs, c, k.name);
    if (after.ok() && after.value() &&
        identity::verification_status(*before.value()) != identity::verification_status(*after.value()))
      ++changed;
  }
  return changed;
}

}  // namespace sesame::service
