#include "app/config.hpp"

#include "base/encoding.hpp"

#include <unistd.h>

#include <set>
#include <toml++/toml.h>

namespace sesame::app {
namespace {
using base::ErrorCode;

base::Error bad(const std::string& msg) { return base::make_error(ErrorCode::kInvalidParameter, msg); }

base::Status check_keys(const toml::table& t, const std::string& where, const std::set<std::string>& allowed) {
  for (const auto& [k, v] : t)
    if (!allowed.count(std::string(k.str())))
      return bad("config: unknown key " + where + std::string(k.str()));
  return base::ok_status();
}
/// Defaults that follow from other keys.
void fill_defaults(Config& c) {
  if (c.delivery_helo_name.empty()) c.delivery_helo_name = c.hostname;
  if (c.delivery_bounce_domain.empty()) c.delivery_bounce_domain = c.hostname;
  // A single-label host name ("vm", "localhost") is not a valid mail domain on its own.
  if (c.delivery_system_sender.empty())
    c.delivery_system_sender = "no-reply@" + c.delivery_bounce_domain +
                               (c.delivery_bounce_domain.find('.') == std::string::npos ? ".localdomain" : "");
  if (c.smtp_region.empty()) c.smtp_region = c.region;
  if (c.api_public_url.empty()) c.api_public_url = "http://" + c.api_listen;
  while (!c.api_public_url.empty() && c.api_public_url.back() == '/') c.api_public_url.pop_back();
}
}  // namespace

base::Result<Config> load_config(const std::string& path) {
  Config c;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0 && host[0]) c.hostname = host;
  else c.hostname = "localhost";
  if (path.empty()) {
    fill_defaults(c);
    return c;
  }
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return bad("config " + path + ": " + std::string(e.description()));
  }
  SESAME_CHECK(check_keys(t, "", {"data_dir", "region", "log_level", "hostname", "api", "dns", "verification", "store", "delivery", "smtp", "tls", "events", "reputation"}));
  if (auto h = t["hostname"].value<std::string>(); h && !h->empty()) c.hostname = *h;
  c.data_dir = t["data_dir"].value_or(c.data_dir);
  c.region = t["region"].value_or(c.region);
  c.log_level = t["log_level"].value_or(c.log_level);
  if (auto api = t["api"].as_table()) {
    SESAME_CHECK(check_keys(*api, "api.", {"listen", "max_body_bytes", "max_connections", "worker_threads", "public_url"}));
    c.api_listen = (*api)["listen"].value_or(c.api_listen);
    c.api_max_body_bytes = std::size_t((*api)["max_body_bytes"].value_or(int64_t(c.api_max_body_bytes)));
    c.api_max_connections = std::size_t((*api)["max_connections"].value_or(int64_t(c.api_max_connections)));
    c.api_worker_threads = int((*api)["worker_threads"].value_or(int64_t(c.api_worker_threads)));
    c.api_public_url = (*api)["public_url"].value_or(c.api_public_url);
  }
  if (auto dns = t["dns"].as_table()) {
    SESAME_CHECK(check_keys(*dns, "dns.", {"servers", "timeout_ms"}));
    if (auto servers = (*dns)["servers"].as_array()) {
      for (const auto& s : *servers) {
        auto v = s.value<std::string>();
        if (!v) return bad("config: dns.servers must be strings \"host:port\"");
        c.dns_servers.push_back(*v);
      }
    }
    c.dns_timeout_ms = int((*dns)["timeout_ms"].value_or(int64_t(c.dns_timeout_ms)));
  }
  if (auto v = t["verification"].as_table()) {
    SESAME_CHECK(check_keys(*v, "verification.", {"window_seconds", "recheck_seconds", "recheck_on_read_seconds"}));
    c.verification_recheck_on_read_seconds = (*v)["recheck_on_read_seconds"].value_or(c.verification_recheck_on_read_seconds);
    c.verification_window_seconds = (*v)["window_seconds"].value_or(c.verification_window_seconds);
    c.verification_recheck_seconds = (*v)["recheck_seconds"].value_or(c.verification_recheck_seconds);
  }
  if (auto r = t["reputation"].as_table()) {
    SESAME_CHECK(check_keys(*r, "reputation.", {"check_seconds", "window_hours", "min_volume", "bounce_review_rate",
                                                "bounce_pause_rate", "complaint_review_rate", "complaint_pause_rate"}));
    auto& o = c.reputation;
    o.check_seconds = (*r)["check_seconds"].value_or(o.check_seconds);
    o.window_seconds = (*r)["window_hours"].value_or(o.window_seconds / 3600) * 3600;
    o.min_volume = (*r)["min_volume"].value_or(o.min_volume);
    o.bounce_review = (*r)["bounce_review_rate"].value_or(o.bounce_review);
    o.bounce_pause = (*r)["bounce_pause_rate"].value_or(o.bounce_pause);
    o.complaint_review = (*r)["complaint_review_rate"].value_or(o.complaint_review);
    o.complaint_pause = (*r)["complaint_pause_rate"].value_or(o.complaint_pause);
    if (o.check_seconds < 0.1 || o.window_seconds < 3600 || o.min_volume < 1)
      return bad("config: reputation.check_seconds >= 0.1, window_hours >= 1, min_volume >= 1");
    for (double v : {o.bounce_review, o.bounce_pause, o.complaint_review, o.complaint_pause})
      if (v <= 0 || v > 1) return bad("config: reputation rates must be in (0, 1]");
    if (o.bounce_review > o.bounce_pause || o.complaint_review > o.complaint_pause)
      return bad("config: a reputation review rate must not exceed its pause rate");
  }
  if (auto e = t["events"].as_table()) {
    SESAME_CHECK(check_keys(*e, "events.", {"firehose_dir", "poll_ms", "metrics", "webhook_verify_tls", "webhook_ca_file",
                                            "webhook_max_backoff_ms", "webhook_retention_hours", "webhook_threads"}));
    c.events_webhook_verify_tls = (*e)["webhook_verify_tls"].value_or(c.events_webhook_verify_tls);
    c.events_webhook_ca_file = (*e)["webhook_ca_file"].value_or(c.events_webhook_ca_file);
    const std::int64_t backoff = (*e)["webhook_max_backoff_ms"].value_or(std::int64_t(c.events_webhook_max_backoff_seconds * 1000));
    if (backoff < 10 || backoff > 3600000) return bad("config: events.webhook_max_backoff_ms must be 10..3600000");
    c.events_webhook_max_backoff_seconds = double(backoff) / 1000;
    const std::int64_t keep = (*e)["webhook_retention_hours"].value_or(std::int64_t(c.events_webhook_retention_hours));
    if (keep < 24 || keep > 24 * 30) return bad("config: events.webhook_retention_hours must be 24..720");
    c.events_webhook_retention_hours = int(keep);
    const std::int64_t threads = (*e)["webhook_threads"].value_or(std::int64_t(c.events_webhook_threads));
    if (threads < 1 || threads > 64) return bad("config: events.webhook_threads must be 1..64");
    c.events_webhook_threads = int(threads);
    c.events_metrics = (*e)["metrics"].value_or(c.events_metrics);
    if (c.events_metrics != "loopback" && c.events_metrics != "any" && c.events_metrics != "off")
      return bad("config: events.metrics must be \"loopback\", \"any\" or \"off\"");
    c.events_firehose_dir = (*e)["firehose_dir"].value_or(c.events_firehose_dir);
    const std::int64_t poll = (*e)["poll_ms"].value_or(std::int64_t(c.events_poll_seconds * 1000));
    if (poll < 1 || poll > 60000) return bad("config: events.poll_ms must be 1..60000");
    c.events_poll_seconds = double(poll) / 1000;
  }
  if (auto d = t["delivery"].as_table()) {
    SESAME_CHECK(check_keys(*d, "delivery.", {"mode", "mx_port", "helo_name", "bounce_domain", "system_sender", "simulator_domain", "max_connections",
                                              "max_connections_per_domain", "retry_base_seconds",
                                              "retry_max_interval_seconds", "connect_timeout_seconds",
                                              "command_timeout_seconds"}));
    c.delivery_mode = (*d)["mode"].value_or(c.delivery_mode);
    c.delivery_mx_port = int((*d)["mx_port"].value_or(int64_t(c.delivery_mx_port)));
    c.delivery_helo_name = (*d)["helo_name"].value_or(c.delivery_helo_name);
    c.delivery_bounce_domain = (*d)["bounce_domain"].value_or(c.delivery_bounce_domain);
    c.delivery_system_sender = (*d)["system_sender"].value_or(c.delivery_system_sender);
    c.delivery_simulator_domain = base::to_lower_ascii((*d)["simulator_domain"].value_or(c.delivery_simulator_domain));
    c.delivery_max_connections = int((*d)["max_connections"].value_or(int64_t(c.delivery_max_connections)));
    c.delivery_max_connections_per_domain =
        int((*d)["max_connections_per_domain"].value_or(int64_t(c.delivery_max_connections_per_domain)));
    c.delivery_retry_base_seconds = (*d)["retry_base_seconds"].value_or(c.delivery_retry_base_seconds);
    c.delivery_retry_max_interval_seconds = (*d)["retry_max_interval_seconds"].value_or(c.delivery_retry_max_interval_seconds);
    c.delivery_connect_timeout_seconds = (*d)["connect_timeout_seconds"].value_or(c.delivery_connect_timeout_seconds);
    c.delivery_command_timeout_seconds = (*d)["command_timeout_seconds"].value_or(c.delivery_command_timeout_seconds);
    if (c.delivery_mx_port < 1 || c.delivery_mx_port > 65535) return bad("config: delivery.mx_port must be 1..65535");
    if (c.delivery_max_connections < 1 || c.delivery_max_connections > 1024)
      return bad("config: delivery.max_connections must be 1..1024");
    if (c.delivery_max_connections_per_domain < 1) return bad("config: delivery.max_connections_per_domain must be >= 1");
    if (c.delivery_retry_base_seconds <= 0 || c.delivery_retry_max_interval_seconds < c.delivery_retry_base_seconds)
      return bad("config: delivery.retry_base_seconds must be > 0 and <= retry_max_interval_seconds");
    if (c.delivery_connect_timeout_seconds <= 0 || c.delivery_command_timeout_seconds <= 0)
      return bad("config: delivery timeouts must be > 0");
    if (c.delivery_mode != "deliver" && c.delivery_mode != "capture")
      return bad("config: delivery.mode must be \"deliver\" or \"capture\"");
  }
  if (auto m = t["smtp"].as_table()) {
    SESAME_CHECK(check_keys(
        *m, "smtp.",
        {"submission_listen", "submission_tls_listen", "region", "trusted_networks", "trusted_account",
         "max_message_bytes", "max_connections", "max_connections_per_ip", "command_timeout_seconds",
         "data_timeout_seconds", "enhanced_status_codes", "feedback_listen", "feedback_domains", "worker_threads"}));
    c.smtp_feedback_listen = (*m)["feedback_listen"].value_or(c.smtp_feedback_listen);
    if (auto doms = (*m)["feedback_domains"].as_array()) {
      for (const auto& n : *doms) {
        auto v = n.value<std::string>();
        if (!v || v->empty()) return bad("config: smtp.feedback_domains must be domain names");
        c.smtp_feedback_domains.push_back(*v);
      }
    }
    c.smtp_submission_listen = (*m)["submission_listen"].value_or(c.smtp_submission_listen);
    c.smtp_submission_tls_listen = (*m)["submission_tls_listen"].value_or(c.smtp_submission_tls_listen);
    c.smtp_region = (*m)["region"].value_or(c.smtp_region);
    if (auto nets = (*m)["trusted_networks"].as_array()) {
      for (const auto& n : *nets) {
        auto v = n.value<std::string>();
        if (!v) return bad("config: smtp.trusted_networks must be strings (CIDR)");
        c.smtp_trusted_networks.push_back(*v);
      }
    }
    c.smtp_trusted_account = (*m)["trusted_account"].value_or(c.smtp_trusted_account);
    c.smtp_max_message_bytes = std::size_t((*m)["max_message_bytes"].value_or(int64_t(c.smtp_max_message_bytes)));
    c.smtp_max_connections = std::size_t((*m)["max_connections"].value_or(int64_t(c.smtp_max_connections)));
    c.smtp_max_connections_per_ip = std::size_t((*m)["max_connections_per_ip"].value_or(int64_t(c.smtp_max_connections_per_ip)));
    c.smtp_command_timeout_seconds = (*m)["command_timeout_seconds"].value_or(c.smtp_command_timeout_seconds);
    c.smtp_data_timeout_seconds = (*m)["data_timeout_seconds"].value_or(c.smtp_data_timeout_seconds);
    c.smtp_enhanced_status_codes = (*m)["enhanced_status_codes"].value_or(c.smtp_enhanced_status_codes);
    c.smtp_worker_threads = int((*m)["worker_threads"].value_or(int64_t(c.smtp_worker_threads)));
    if (c.smtp_worker_threads < 0 || c.smtp_worker_threads > 256)
      return bad("config: smtp.worker_threads must be 0 (one per core) .. 256");
    if (!c.smtp_trusted_networks.empty() && c.smtp_trusted_account.empty())
      return bad("config: smtp.trusted_networks needs smtp.trusted_account (the account they send as)");
    if (c.smtp_max_message_bytes < 1024 || c.smtp_max_message_bytes > (std::size_t(1) << 30))
      return bad("config: smtp.max_message_bytes must be 1 KiB..1 GiB");
    if (c.smtp_max_connections < 1 || c.smtp_max_connections_per_ip < 1) return bad("config: smtp connection limits must be >= 1");
    if (c.smtp_command_timeout_seconds <= 0 || c.smtp_data_timeout_seconds <= 0) return bad("config: smtp timeouts must be > 0");
  }
  if (auto tl = t["tls"].as_table()) {
    SESAME_CHECK(check_keys(*tl, "tls.", {"cert_file", "key_file"}));
    c.tls_cert_file = (*tl)["cert_file"].value_or(c.tls_cert_file);
    c.tls_key_file = (*tl)["key_file"].value_or(c.tls_key_file);
    if (c.tls_cert_file.empty() != c.tls_key_file.empty()) return bad("config: tls.cert_file and tls.key_file go together");
  }
  if (auto s = t["store"].as_table()) {
    SESAME_CHECK(check_keys(*s, "store.", {"durable", "commit_delay_us"}));
    c.store_durable = (*s)["durable"].value_or(c.store_durable);
    c.store_commit_delay_us = int((*s)["commit_delay_us"].value_or(std::int64_t(c.store_commit_delay_us)));
    if (c.store_commit_delay_us < 0 || c.store_commit_delay_us > 100000)
      return bad("config: store.commit_delay_us must be between 0 and 100000");
  }
  fill_defaults(c);
  if (c.api_max_body_bytes < 1024) return bad("config: api.max_body_bytes is too small");
  if (c.api_worker_threads < 1 || c.api_worker_threads > 256) return bad("config: api.worker_threads must be 1..256");
  return c;
}

}  // namespace sesame::app
