// Reputation (issue 6 item 7; SES Developer Guide "Sending review process"): rolling hard
// bounce and complaint rates per account and region, and per configuration set, from the
// events of the window. Above the review thresholds the account is under review
// (EnforcementStatus PROBATION); above the pause thresholds its sending is paused
// (SHUTDOWN: every send gets SendingPausedException / AccountSendingPausedException) until
// the operator resumes it (`sesame account resume`), which starts the rates afresh. The
// mailbox simulator and suppression-list bounces do not count, as in SES.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "service/services.hpp"

namespace sesame::service {

struct ReputationOptions {
  double check_seconds = 60;
  double window_seconds = 7 * 86400;
  double min_volume = 200;            // rates are judged from this many deliveries + bounces on
  double bounce_review = 0.05, bounce_pause = 0.10;
  double complaint_review = 0.001, complaint_pause = 0.005;
};

struct Rates {
  std::uint64_t deliveries = 0, bounces = 0, complaints = 0;
  double bounce_rate() const { return deliveries + bounces ? double(bounces) / double(deliveries + bounces) : 0; }
  double complaint_rate() const { return deliveries ? double(complaints) / double(deliveries) : 0; }
};

/// HEALTHY, PROBATION or SHUTDOWN for rates, given the current status (SHUTDOWN stays
/// until the operator resumes; below the review thresholds PROBATION ends).
std::string enforcement(const Rates& r, const std::string& current, const ReputationOptions& o);

/// The account's enforcement status as stored ("HEALTHY" when never judged).
std::string enforcement_status(const json& account_settings);

class ReputationMonitor {
 public:
  ReputationMonitor(Services& services, ReputationOptions options);
  ~ReputationMonitor();
  void start();
  void stop();
  /// One pass over every account and region that sent in the window; returns how many
  /// changed status.
  base::Result<std::size_t> check_once();
  /// Gauges in Prometheus' text format: ses_reputation_bounce_rate and
  /// ses_reputation_complaint_rate by account, region and configuration set ("" = the
  /// account), and ses_account_enforcement (1 for the current status).
  std::string metrics() const;

 private:
  Services& s_;
  ReputationOptions o_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::map<std::string, std::string> gauges_;  // family -> sample lines, replaced each pass
};

/// Operator: lifts a pause (and a review) and starts the rates afresh.
base::Status resume_sending(Services& services, const std::string& account, const std::string& region);

}  // namespace sesame::service
