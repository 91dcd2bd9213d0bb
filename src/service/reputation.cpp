// See reputation.hpp.
#include "service/reputation.hpp"

#include "base/log.hpp"
#include "service/documents.hpp"

namespace sesame::service {
namespace {
std::string label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
}  // namespace

std::string enforcement(const Rates& r, const std::string& current, const ReputationOptions& o) {
  if (current == "SHUTDOWN") return current;
  if (double(r.deliveries + r.bounces) < o.min_volume) return current == "PROBATION" ? current : "HEALTHY";
  const double b = r.bounce_rate(), c = r.complaint_rate();
  if (b >= o.bounce_pause || c >= o.complaint_pause) return "SHUTDOWN";
  if (b >= o.bounce_review || c >= o.complaint_review) return "PROBATION";
  return "HEALTHY";
}

std::string enforcement_status(const json& settings) {
  return settings.value("enforcement", json::object()).value("status", "HEALTHY");
}

ReputationMonitor::ReputationMonitor(Services& services, ReputationOptions options) : s_(services), o_(options) {}

ReputationMonitor::~ReputationMonitor() { stop(); }

void ReputationMonitor::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sesame-reputat");
    std::unique_lock lk(mu_);
    while (!stopping_) {
      lk.unlock();
      auto r = check_once();
      if (!r.ok()) base::log().warn("reputation: check failed: {}", r.error().message);
      lk.lock();
      cv_.wait_for(lk, std::chrono::duration<double>(o_.check_seconds), [&] { return stopping_; });
    }
  });
}

void ReputationMonitor::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

base::Result<std::size_t> ReputationMonitor::check_once() {
  const double now = s_.clock.now();
  SESAME_ASSIGN(auto senders, s_.store.active_senders(now - o_.window_seconds));
  std::size_t changed = 0;
  std::map<std::string, std::string> gauges;
  Documents docs(s_);
  for (const auto& [account, region] : senders) {
    Caller c{account, region, "", ""};
    SESAME_ASSIGN(auto settings, docs.find(c, kind::kAccount, ""));
    const json st = settings ? *settings : json::object();
    const json enf = st.value("enforcement", json::object());
    // Rates start afresh when the operator resumed sending.
    const double since = std::max(now - o_.window_seconds, enf.value("fresh_start", 0.0));
    SESAME_ASSIGN(auto counts, s_.store.reputation_counts(account, region, since, s_.settings.simulator_domain));
    std::map<std::string, Rates> by_set;
    Rates total;
    for (const auto& n : counts) {
      for (Rates* r : {&by_set[n.configuration_set], &total}) {
        if (n.type == "Delivery") r->deliveries += n.count;
        else if (n.type == "Bounce") r->bounces += n.count;
        else if (n.type == "Complaint") r->complaints += n.count;
      }
    }
    const std::string current = enforcement_status(st);
    const std::string next = enforcement(total, current, o_);
    const std::string key = "account=\"" + label(account) + "\",region=\"" + label(region) + "\"";
    auto rate_lines = [&](const std::string& labels, const Rates& r) {
      gauges["bounce"] += "ses_reputation_bounce_rate{" + labels + "} " + std::to_string(r.bounce_rate()) + "\n";
      gauges["complaint"] += "ses_reputation_complaint_rate{" + labels + "} " + std::to_string(r.complaint_rate()) + "\n";
    };
    rate_lines(key + ",configuration_set=\"\"", total);
    for (const char* status : {"HEALTHY", "PROBATION", "SHUTDOWN"})
      gauges["enforcement"] += std::string("ses_account_enforcement{") + key + ",status=\"" + status + "\"} " +
                               (next == status ? "1" : "0") + "\n";
    // Configuration sets with reputation metrics enabled get their own series.
    for (const auto& [set, r] : by_set) {
      if (set.empty()) continue;
      SESAME_ASSIGN(auto cs, docs.find(c, kind::kConfigurationSet, set));
      if (!cs || !cs->value("ReputationOptions", json::object()).value("ReputationMetricsEnabled", false)) continue;
      rate_lines(key + ",configuration_set=\"" + label(set) + "\"", r);
    }
    if (next == current) continue;
    base::log().warn("reputation: account {} region {}: {} -> {} (bounce rate {:.4f}, complaint rate {:.4f} over {} "
                     "deliveries and bounces)",
                     account, region, current, next, total.bounce_rate(), total.complaint_rate(),
                     total.deliveries + total.bounces);
    SESAME_CHECK(docs.update(c, kind::kAccount, "", [&](json& d) {
      json& e = d["enforcement"];
      if (!e.is_object()) e = json::object();
      if (e.value("status", "HEALTHY") == "SHUTDOWN") return base::ok_status();  // resumed meanwhile? keep the pause
      e["status"] = next;
      e["changed"] = now;
      e["bounce_rate"] = total.bounce_rate();
      e["complaint_rate"] = total.complaint_rate();
      return base::ok_status();
    }, "", true));
    ++changed;
  }
  std::lock_guard lk(mu_);
  gauges_ = std::move(gauges);
  return changed;
}

std::string ReputationMonitor::metrics() const {
  // Each family's samples follow its own HELP and TYPE (the text format's grouping rule).
  std::lock_guard lk(mu_);
  auto family = [&](const char* key) {
    auto it = gauges_.find(key);
    return it == gauges_.end() ? std::string() : it->second;
  };
  return "# HELP ses_reputation_bounce_rate Hard bounces / (deliveries + hard bounces) over the reputation window.\n"
         "# TYPE ses_reputation_bounce_rate gauge\n" +
         family("bounce") +
         "# HELP ses_reputation_complaint_rate Complaints / deliveries over the reputation window.\n"
         "# TYPE ses_reputation_complaint_rate gauge\n" +
         family("complaint") +
         "# HELP ses_account_enforcement The account's enforcement status (1 for the current one).\n"
         "# TYPE ses_account_enforcement gauge\n" +
         family("enforcement");
}

base::Status resume_sending(Services& services, const std::string& account, const std::string& region) {
  Documents docs(services);
  Caller c{account, region, "", ""};
  const double now = services.clock.now();
  SESAME_CHECK(docs.update(c, kind::kAccount, "", [&](json& d) {
    d["enforcement"] = json{{"status", "HEALTHY"}, {"changed", now}, {"fresh_start", now}};
    return base::ok_status();
  }, "", true));
  return base::ok_status();
}

}  // namespace sesame::service
