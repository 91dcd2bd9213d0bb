// The delivery engine: takes committed messages (queue::Intake) and the recipients still
// queued at start-up, and delivers them through the scheduler to the destination domains'
// MX hosts. Each attempt's outcome (recipient states and the Delivery / DeliveryDelay /
// Bounce events, plus a DSN to the sender) is committed in one store transaction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "dns/resolver.hpp"
#include "queue/scheduler.hpp"
#include "store/store.hpp"

namespace sesame::delivery {

struct EngineOptions {
  int mx_port = 25;                 // tests deliver to a sink on a high port
  std::string helo_name;            // EHLO name; also the reportingMTA of events
  std::string bounce_domain;        // default MAIL FROM domain, and the DSN sender's
  std::string message_id_prefix = "0100";
  queue::Limits limits;
  queue::RetryPolicy retry;
  double connect_timeout = 30;
  double command_timeout = 300;
  double data_timeout = 600;
  double idle_seconds = 5;          // an idle connection is kept this long for reuse
  int max_transactions_per_connection = 100;
  std::size_t max_addresses_per_host = 2;  // A/AAAA addresses tried per MX host
  /// Messages handed over in memory at acceptance, waiting for their first attempt, hold at
  /// most this many bytes; beyond it (a backlog) delivery reads them from the store.
  std::size_t handoff_budget_bytes = 64u << 20;
  /// SES's mailbox simulator (success@, bounce@, ooto@, complaint@, suppressionlist@ at
  /// this domain): outcomes without any network delivery, never added to the suppression list.
  std::string simulator_domain = "simulator.amazonses.com";
};

class Engine final : public queue::Intake {
 public:
  Engine(store::Store& store, dns::Resolver& resolver, const base::Clock& clock, EngineOptions options);
  ~Engine() override;

  /// Loads every queued or deferred recipient and starts the worker threads.
  base::Status start();
  /// Lets running attempts finish (their results are committed), then stops.
  void stop();

  void submit(store::MessageRecord message) override;

  /// Queue gauges in Prometheus' text format: delivery jobs (message × destination domain)
  /// waiting and in flight, and the bytes of messages held in memory for their first attempt.
  std::string metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sesame::delivery
