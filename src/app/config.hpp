// The TOML configuration. Every key is optional; `sesame serve` with no file runs on the
// embedded store in ./sesame-data.
#pragma once

#include "service/reputation.hpp"

#include <string>
#include <vector>

#include "base/result.hpp"

namespace sesame::app {

struct Config {
  std::string data_dir = "./sesame-data";
  std::string region = "us-east-1";
  std::string log_level = "info";
  std::string hostname;  // public name of this host; empty = gethostname()
  // [api]
  std::string api_listen = "127.0.0.1:4579";
  std::size_t api_max_body_bytes = 48u << 20;
  std::size_t api_max_connections = 1024;
  int api_worker_threads = 16;
  std::string api_public_url;  // empty = http://<listen>
  // [dns]
  std::vector<std::string> dns_servers;  // host:port; empty = system resolver
  int dns_timeout_ms = 2000;
  // [verification]
  double verification_window_seconds = 72 * 3600;
  double verification_recheck_seconds = 300;
  double verification_recheck_on_read_seconds = 10;
  // [reputation]
  service::ReputationOptions reputation;
  // [events]
  std::string events_firehose_dir;  // empty = <data_dir>/firehose
  double events_poll_seconds = 0.2;
  std::string events_metrics = "loopback";  // who may GET /metrics: "loopback" | "any" | "off"
  bool events_webhook_verify_tls = true;     // https webhooks: check the endpoint's certificate
  std::string events_webhook_ca_file;        // empty: the system's CA store
  double events_webhook_max_backoff_seconds = 60;
  int events_webhook_retention_hours = 72;   // a webhook delivery is retried this long
  int events_webhook_threads = 4;
  // [delivery]
  std::string delivery_mode = "deliver";  // "deliver" | "capture"
  int delivery_mx_port = 25;
  std::string delivery_helo_name;      // empty = hostname
  std::string delivery_bounce_domain;  // empty = hostname
  std::string delivery_system_sender;  // empty = no-reply@<bounce domain>
  std::string delivery_simulator_domain = "simulator.amazonses.com";  // empty: no mailbox simulator
  int delivery_max_connections = 32;
  int delivery_max_connections_per_domain = 8;
  double delivery_retry_base_seconds = 60;
  double delivery_retry_max_interval_seconds = 3600;
  double delivery_connect_timeout_seconds = 30;
  double delivery_command_timeout_seconds = 300;
  // [smtp] submission (reference §4): STARTTLS and implicit-TLS listeners; "" disables one
  std::string smtp_submission_listen = "127.0.0.1:2587";
  std::string smtp_submission_tls_listen = "127.0.0.1:2465";
  std::string smtp_region;  // the region SMTP credentials and sends belong to; empty = region
  std::vector<std::string> smtp_trusted_networks;  // CIDRs that submit without AUTH
  std::string smtp_trusted_account;                // the account they send as
  /// Inbound listener for asynchronous bounces and complaint reports ("" = off); it takes
  /// mail for the bounce domain and `smtp_feedback_domains` (custom MAIL FROM domains).
  std::string smtp_feedback_listen;
  std::vector<std::string> smtp_feedback_domains;
  std::size_t smtp_max_message_bytes = 40u << 20;  // SES: 40 MB for SMTP
  std::size_t smtp_max_connections = 1000;
  std::size_t smtp_max_connections_per_ip = 50;
  double smtp_command_timeout_seconds = 60;
  double smtp_data_timeout_seconds = 180;
  bool smtp_enhanced_status_codes = false;  // SES's replies carry none
  int smtp_worker_threads = 0;              // per listener; 0 = one per core
  // [tls] the listeners' certificate; empty = self-signed, generated into data_dir
  std::string tls_cert_file;
  std::string tls_key_file;
  // [store]
  bool store_durable = true;
  int store_commit_delay_us = 1000;  // group commit under load: wait this long for more writes to join a commit
};

/// Reads `path` (empty = defaults only). Unknown keys are errors, so typos surface.
base::Result<Config> load_config(const std::string& path);

}  // namespace sesame::app
