// The sesame binary: `serve` runs everything; the other subcommands administer accounts
// and identities directly in the store (they work whether or not the server runs).
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/dispatcher.hpp"
#include "app/config.hpp"
#include "app/feedback.hpp"
#include "app/capture_view.hpp"
#include "app/runtime.hpp"
#include "app/submission.hpp"
#include "base/log.hpp"
#include "delivery/engine.hpp"
#include "events/publisher.hpp"
#include "http/server.hpp"
#include "net/http_post.hpp"
#include "net/smtp_listener.hpp"
#include "service/event_destinations.hpp"
#include "service/smtp_credentials.hpp"
#include "service/reputation.hpp"
#include "service/sns.hpp"
#include "service/verification_worker.hpp"
#include <spdlog/sinks/stdout_color_sinks.h>

namespace {
using namespace sesame;

constexpr const char* kUsage = R"(sesame - a self-hosted email service that speaks the Amazon SES APIs

usage:
  sesame serve [--config FILE]
  sesame account create --name NAME [--production] [--config FILE]
  sesame account production --account ID [--off] [--config FILE]
  sesame account quota --account ID [--region R] [--max-send-rate N] [--max-24-hour-send N] [--config FILE]
  sesame account resume --account ID [--region R] [--config FILE]   (lift a reputation pause)
  sesame smtp-password --secret KEY|- [--region R]   (- reads the secret from stdin)
  sesame identity records --account ID [--region R] IDENTITY [--config FILE]
  sesame identity verify --account ID [--region R] IDENTITY [--config FILE]
  sesame --help
)";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // --key value; flags map to "1"
  bool has(const std::string& k) const { return options.count(k) > 0; }
  std::string get(const std::string& k, const std::string& fallback = {}) const {
    auto it = options.find(k);
    return it == options.end() ? fallback : it->second;
  }
};

Args parse_args(int argc, char** argv) {
  static const std::vector<std::string> kFlags = {"--production", "--off", "--help"};
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      if (std::find(kFlags.begin(), kFlags.end(), s) != kFlags.end() || i + 1 >= argc) a.options[s] = "1";
      else a.options[s] = argv[++i];
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "sesame: %s\n", msg.c_str());
  return 1;
}

int serve(const app::Config& cfg) {
  auto rt = app::Runtime::open(cfg);
  if (!rt.ok()) return fail(rt.error().message);
  app::Runtime& r = *rt.value();
  if (auto first = r.ensure_first_account(); !first.ok()) return fail(first.error().message);

  service::HandlerTable handlers;
  service::register_all(handlers, r.services());
  api::Dispatcher dispatcher(handlers, r.key_lookup(), r.clock());

  http::ServerOptions opts;
  opts.listen = cfg.api_listen;
  opts.max_body_bytes = cfg.api_max_body_bytes;
  opts.max_connections = cfg.api_max_connections;
  opts.worker_threads = cfg.api_worker_threads;
  auto is_health = [](const base::HttpRequest& req) { return req.method == "GET" && req.target == "/_sesame/health"; };
  // CloudWatch-style event destinations, for Prometheus: unauthenticated, as scrape targets
  // are, so by default only loopback clients may read them ([events] metrics).
  auto is_metrics = [&cfg](const base::HttpRequest& req) {
    return cfg.events_metrics != "off" && req.method == "GET" && req.path() == "/metrics";
  };
  auto metrics_allowed = [&cfg](const base::HttpRequest& req) {
    const std::string& ip = req.remote_ip;
    return cfg.events_metrics == "any" || ip.rfind("127.", 0) == 0 || ip == "::1" || ip.rfind("::ffff:127.", 0) == 0;
  };
  events::Publisher* publisher_ptr = nullptr;
  delivery::Engine* engine_ptr = nullptr;
  service::ReputationMonitor reputation(r.services(), cfg.reputation);
  // The SNS signing certificate, at the SigningCertURL every notification names.
  std::string sns_cert_path, sns_cert_pem;
  auto is_sns_cert = [&sns_cert_path](const base::HttpRequest& req) {
    return req.method == "GET" && !sns_cert_path.empty() && req.path() == sns_cert_path;
  };
  auto is_capture = [](const base::HttpRequest& req) { return req.target.rfind("/_aws/ses", 0) == 0; };
  auto is_verify_link = [](const base::HttpRequest& req) { return req.method == "GET" && req.path() == "/_sesame/verify-email"; };
  auto is_tracking = [](const base::HttpRequest& req) { return req.method == "GET" && req.path().substr(0, 3) == "/t/"; };
  auto is_local_page = [&](const base::HttpRequest& req) {
    return is_health(req) || is_metrics(req) || is_verify_link(req) || is_sns_cert(req) || is_tracking(req) ||
           (cfg.delivery_mode == "capture" && is_capture(req));
  };
  // The server's own pages (health, metrics, capture, links, the SNS certificate).
  auto local_page = [&](const base::HttpRequest& req) -> base::HttpResponse {
    if (is_health(req)) return base::HttpResponse{200, {{"Content-Type", "text/plain"}}, "ok\n"};
    if (is_metrics(req)) {
      if (!metrics_allowed(req)) return base::HttpResponse{403, {{"Content-Type", "text/plain"}}, "forbidden\n"};
      if (!publisher_ptr) return base::HttpResponse{503, {{"Content-Type", "text/plain"}}, "starting\n"};
      return base::HttpResponse{200, {{"Content-Type", "text/plain; version=0.0.4"}},
                                publisher_ptr->metrics() + reputation.metrics() +
                                    (engine_ptr ? engine_ptr->metrics() : std::string())};
    }
    if (cfg.delivery_mode == "capture" && is_capture(req)) return app::capture_view(r.services(), req);
    if (is_verify_link(req)) return app::verification_link_view(r.services(), req);
    if (is_tracking(req)) return app::tracking_view(r.services(), req);
    if (is_sns_cert(req)) return base::HttpResponse{200, {{"Content-Type", "application/x-pem-file"}}, sns_cert_pem};
    return base::HttpResponse{404, {{"Content-Type", "text/plain"}}, "not found\n"};
  };
  http::Server server(
      opts,
      [&](const base::HttpRequest& req, http::Respond respond) {
        // The API answers through `respond` (a send: after its commit, from the store's
        // writer thread); the server's own pages answer at once.
        if (!is_local_page(req)) return dispatcher.handle_async(req, std::move(respond));
        respond(local_page(req));
      },
      [&](const base::HttpRequest& head) -> std::optional<base::HttpResponse> {
        if (is_local_page(head)) return std::nullopt;
        return dispatcher.precheck(head);
      },
      [&](int status, const std::string& message, const std::string& target) {
        return dispatcher.edge_error(status, message, target);
      });

  // Block the stop signals before any thread starts, then wait for one on this thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Delivery starts first: it resumes every recipient still queued, and is the intake for
  // what the API accepts from now on.
  std::unique_ptr<delivery::Engine> engine;
  if (cfg.delivery_mode == "deliver") {
    delivery::EngineOptions eo;
    eo.mx_port = cfg.delivery_mx_port;
    eo.helo_name = cfg.delivery_helo_name;
    eo.bounce_domain = cfg.delivery_bounce_domain;
    eo.message_id_prefix = r.services().settings.message_id_prefix;
    eo.simulator_domain = cfg.delivery_simulator_domain;
    eo.limits = {cfg.delivery_max_connections_per_domain, cfg.delivery_max_connections};
    eo.retry = {cfg.delivery_retry_base_seconds, cfg.delivery_retry_max_interval_seconds};
    eo.connect_timeout = cfg.delivery_connect_timeout_seconds;
    eo.command_timeout = cfg.delivery_command_timeout_seconds;
    eo.data_timeout = 2 * cfg.delivery_command_timeout_seconds;
    engine = std::make_unique<delivery::Engine>(r.services().store, r.services().resolver, r.clock(), eo);
    if (auto st = engine->start(); !st.ok()) return fail(st.error().message);
    r.services().intake = engine.get();
    engine_ptr = engine.get();
  }
  // SNS-style webhooks: a signing key and certificate of their own (made on first start,
  // key mode 0600; named after this host, not an AWS one: it only carries the public key
  // subscribers verify with, never TLS), and the deliverer that works through the outbox.
  const std::string sns_dir = cfg.data_dir + "/sns";
  {
    std::error_code ec;
    std::filesystem::create_directories(sns_dir, ec);
    if (ec) return fail("cannot create " + sns_dir + ": " + ec.message());
    if (auto st = net::ensure_self_signed(sns_dir + "/cert.pem", sns_dir + "/key.pem", cfg.hostname,
                                          /*rsa=*/true);
        !st.ok())
      return fail(st.error().message);
  }
  auto sns_signer = events::SnsSigner::load(sns_dir + "/key.pem", sns_dir + "/cert.pem");
  if (!sns_signer.ok()) return fail(sns_signer.error().message);
  events::WebhookOptions wo;
  wo.public_url = r.services().settings.public_url;
  wo.max_backoff_seconds = cfg.events_webhook_max_backoff_seconds;
  wo.retention_seconds = cfg.events_webhook_retention_hours * 3600.0;
  wo.threads = cfg.events_webhook_threads;
  sns_cert_path = wo.cert_path + sns_signer.value()->certificate_name();
  sns_cert_pem = sns_signer.value()->certificate_pem();
  net::HttpPostOptions post_options{cfg.events_webhook_verify_tls, cfg.events_webhook_ca_file};
  events::WebhookDeliverer webhooks(
      r.services().store, r.clock(), *sns_signer.value(),
      [post_options](const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                     const std::string& body, double timeout) {
        auto res = net::http_post(url, headers, body, timeout, post_options);
        return events::PostResult{res.status, res.error};
      },
      wo);
  webhooks.start();
  r.services().webhooks_queued = [&webhooks] { webhooks.wake(); };
  // The event outbox's publisher: follows the events table from its durable cursor.
  events::PublisherOptions po;
  po.topics = service::sns_topic_lookup(r.services());
  po.identity_topics = service::identity_topic_lookup(r.services());
  po.queued_webhooks = [&webhooks] { webhooks.wake(); };
  po.firehose_dir = cfg.events_firehose_dir.empty() ? cfg.data_dir + "/firehose" : cfg.events_firehose_dir;
  po.poll_seconds = cfg.events_poll_seconds;
  events::Publisher publisher(r.services().store, r.clock(), service::event_destination_lookup(r.services()), po);
  if (auto st = publisher.start(); !st.ok()) return fail(st.error().message);
  publisher_ptr = &publisher;
  // SMTP submission (reference §4): STARTTLS and implicit-TLS listeners, one backend.
  // They listen before the API does, so a healthy API means SMTP is ready too.
  std::vector<std::unique_ptr<net::SmtpListener>> smtp;
  app::Submission submission(r.services(), app::SubmissionSettings{cfg.smtp_region, cfg.smtp_trusted_account,
                                                                   cfg.smtp_max_message_bytes});
  std::string cert = cfg.tls_cert_file, key = cfg.tls_key_file;
  if (cert.empty() && (!cfg.smtp_submission_listen.empty() || !cfg.smtp_submission_tls_listen.empty() ||
                       !cfg.smtp_feedback_listen.empty())) {
    cert = cfg.data_dir + "/tls/cert.pem";
    key = cfg.data_dir + "/tls/key.pem";
    std::error_code ec;
    std::filesystem::create_directories(cfg.data_dir + "/tls", ec);
    if (auto st = net::ensure_self_signed(cert, key, cfg.hostname); !st.ok()) return fail(st.error().message);
  }
  if (!cfg.smtp_submission_listen.empty() || !cfg.smtp_submission_tls_listen.empty()) {
    if (!cfg.smtp_trusted_account.empty()) {
      auto acct = r.services().store.find_account(cfg.smtp_trusted_account);
      if (!acct.ok() || !acct.value()) return fail("smtp.trusted_account " + cfg.smtp_trusted_account + " is not an account");
    }
    auto failures = std::make_shared<net::AuthFailures>();
    for (auto [listen, implicit] : {std::pair{cfg.smtp_submission_listen, false}, std::pair{cfg.smtp_submission_tls_listen, true}}) {
      if (listen.empty()) continue;
      net::SmtpListenerOptions o;
      o.name = implicit ? "submission-tls" : "submission";
      o.listen = listen;
      o.implicit_tls = implicit;
      o.cert_file = cert;
      o.key_file = key;
      o.session.hostname = cfg.hostname;
      o.session.greeting = "ESMTP Sesame";
      o.session.max_message_bytes = cfg.smtp_max_message_bytes;
      o.session.enhanced_status_codes = cfg.smtp_enhanced_status_codes;
      o.trusted_networks = cfg.smtp_trusted_networks;
      o.max_connections = cfg.smtp_max_connections;
      o.max_connections_per_ip = cfg.smtp_max_connections_per_ip;
      o.command_timeout_seconds = cfg.smtp_command_timeout_seconds;
      o.data_timeout_seconds = cfg.smtp_data_timeout_seconds;
      o.worker_threads = cfg.smtp_worker_threads;
      o.auth_failures = failures;
      smtp.push_back(std::make_unique<net::SmtpListener>(o, submission));
      if (auto st = smtp.back()->start(); !st.ok()) return fail(st.error().message);
      base::log().info("sesame SMTP {} on {} ({}) region {}", o.name, smtp.back()->local_endpoint(),
                       implicit ? "implicit TLS" : "STARTTLS", cfg.smtp_region);
    }
  }
  // Feedback from outside (asynchronous DSNs, ARF complaints) on an inbound listener: any
  // client, STARTTLS offered, no AUTH, only the bounce domain's (and feedback_domains')
  // recipients.
  std::unique_ptr<delivery::FeedbackProcessor> feedback;
  std::unique_ptr<app::FeedbackBackend> feedback_backend;
  if (!cfg.smtp_feedback_listen.empty()) {
    delivery::FeedbackOptions fo;
    fo.domains = cfg.smtp_feedback_domains;
    fo.domains.push_back(r.services().settings.bounce_domain);
    fo.message_id_prefix = r.services().settings.message_id_prefix;
    fo.bounce_domain = r.services().settings.bounce_domain;
    fo.intake = engine.get();  // none in capture mode: reports are recorded, not forwarded
    feedback = std::make_unique<delivery::FeedbackProcessor>(r.services().store, r.clock(), fo);
    feedback_backend = std::make_unique<app::FeedbackBackend>(*feedback);
    net::SmtpListenerOptions o;
    o.name = "feedback";
    o.listen = cfg.smtp_feedback_listen;
    o.cert_file = cert;
    o.key_file = key;
    o.session.hostname = cfg.hostname;
    o.session.greeting = "ESMTP Sesame";
    o.session.max_message_bytes = 10u << 20;
    o.session.max_recipients = 100;
    o.session.auth = false;
    o.session.inbound = true;
    delivery::FeedbackProcessor* fp = feedback.get();
    o.session.accept_rcpt = [fp](const std::string& address) { return fp->accepts(address); };
    o.max_connections = cfg.smtp_max_connections;
    o.max_connections_per_ip = cfg.smtp_max_connections_per_ip;
    o.command_timeout_seconds = cfg.smtp_command_timeout_seconds;
    o.data_timeout_seconds = cfg.smtp_data_timeout_seconds;
    o.worker_threads = cfg.smtp_worker_threads;
    smtp.push_back(std::make_unique<net::SmtpListener>(o, *feedback_backend));
    if (auto st = smtp.back()->start(); !st.ok()) return fail(st.error().message);
    std::string domains;
    for (const auto& d : fo.domains) domains += (domains.empty() ? "" : ", ") + d;
    base::log().info("sesame SMTP feedback on {} for {}", smtp.back()->local_endpoint(), domains);
  }
  if (auto st = server.start(); !st.ok()) return fail(st.error().message);

  service::VerificationWorker worker(r.services(), cfg.verification_recheck_seconds);
  worker.start();
  reputation.start();
  base::log().info("sesame serving the SES API (v1 and v2) on http://{} region {} data {}", server.local_endpoint(),
                   cfg.region, cfg.data_dir);
  int sig = 0;
  sigwait(&set, &sig);
  base::log().info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  for (auto& l : smtp) l->stop();  // transactions in flight finish first
  worker.stop();
  reputation.stop();
  server.stop();
  if (engine) engine->stop();
  publisher.stop();  // after delivery: its last outcomes' events are published too
  webhooks.stop();   // what is still queued waits in the outbox for the next start
  base::log().info("stopped");
  return 0;
}

int account_cmd(const app::Config& cfg, const Args& a) {
  auto rt = app::Runtime::open(cfg);
  if (!rt.ok()) return fail(rt.error().message);
  const std::string sub = a.positional.size() > 1 ? a.positional[1] : "";
  if (sub == "create") {
    if (!a.has("--name") || a.get("--name") == "1") return fail("account create needs --name NAME");
    auto created = rt.value()->create_account(a.get("--name"), a.has("--production"));
    if (!created.ok()) return fail(created.error().message);
    service::json out = created.value();
    // SES SMTP credentials for the configured SMTP region (reference §4.1).
    out["SmtpUsername"] = out["AccessKeyId"];
    out["SmtpPassword"] = service::smtp_password(out["SecretAccessKey"].get<std::string>(), cfg.smtp_region);
    out["SmtpRegion"] = cfg.smtp_region;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (sub == "production") {
    auto st = rt.value()->set_production(a.get("--account"), !a.has("--off"));
    if (!st.ok()) return fail(st.error().message);
    std::cout << "account " << a.get("--account") << (a.has("--off") ? " is in the sandbox\n" : " has production access\n");
    return 0;
  }
  if (sub == "quota") {
    auto number = [&](const char* flag) -> double {
      if (!a.has(flag)) return -1;
      try {
        return std::stod(a.get(flag));
      } catch (const std::exception&) {
        return -2;
      }
    };
    double rate = number("--max-send-rate"), daily = number("--max-24-hour-send");
    if (rate == -2 || daily == -2 || (rate >= 0 && rate < 1) || (daily >= 0 && daily < 1))
      return fail("account quota: --max-send-rate and --max-24-hour-send must be numbers >= 1");
    auto out = rt.value()->set_quota(a.get("--account"), a.get("--region", cfg.region), rate, daily);
    if (!out.ok()) return fail(out.error().message);
    std::cout << out.value().dump(2) << "\n";
    return 0;
  }
  if (sub == "resume") {
    const std::string region = a.get("--region", cfg.region);
    auto acct = rt.value()->services().store.find_account(a.get("--account"));
    if (!acct.ok()) return fail(acct.error().message);
    if (!acct.value()) return fail("no account " + a.get("--account"));
    auto st = service::resume_sending(rt.value()->services(), a.get("--account"), region);
    if (!st.ok()) return fail(st.error().message);
    std::cout << "account " << a.get("--account") << " region " << region
              << ": sending resumed, reputation rates start afresh\n";
    return 0;
  }
  return fail(std::string("unknown account command\n") + kUsage);
}

int identity_cmd(const app::Config& cfg, const Args& a) {
  if (a.positional.size() < 3 || !a.has("--account")) return fail(std::string("identity commands need --account ID and an IDENTITY\n") + kUsage);
  auto rt = app::Runtime::open(cfg);
  if (!rt.ok()) return fail(rt.error().message);
  const std::string sub = a.positional[1];
  const std::string region = a.get("--region", cfg.region);
  base::Result<service::json> out = base::make_error(base::ErrorCode::kInvalidParameter, "unknown identity command");
  if (sub == "records") out = rt.value()->identity_records(a.get("--account"), region, a.positional[2]);
  else if (sub == "verify") out = rt.value()->verify_identity(a.get("--account"), region, a.positional[2]);
  if (!out.ok()) return fail(out.error().message);
  std::cout << out.value().dump(2) << "\n";
  return 0;
}
int smtp_password_cmd(const app::Config& cfg, const Args& a) {
  std::string secret = a.get("--secret");
  if (secret.empty() || secret == "1") return fail("smtp-password needs --secret KEY (or --secret - to read it from stdin)");
  if (secret == "-" && !std::getline(std::cin, secret)) return fail("smtp-password: no secret on stdin");
  while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  std::cout << service::smtp_password(secret, a.get("--region", cfg.smtp_region)) << "\n";
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  ::umask(077);  // the store holds secret keys and the DKIM keys are private: nothing world-readable
  Args a = parse_args(argc, argv);
  if (a.positional.empty() || a.has("--help")) {
    std::fputs(kUsage, a.has("--help") ? stdout : stderr);
    return a.has("--help") ? 0 : 2;
  }
  auto cfg = app::load_config(a.get("--config"));
  if (!cfg.ok()) return fail(cfg.error().message);
  // Administrative commands print JSON on stdout; logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("sesame"));
  spdlog::set_level(spdlog::level::from_str(cfg.value().log_level));
  const std::string& cmd = a.positional[0];
  if (cmd == "serve") return serve(cfg.value());
  if (cmd == "account") return account_cmd(cfg.value(), a);
  if (cmd == "identity") return identity_cmd(cfg.value(), a);
  if (cmd == "smtp-password") return smtp_password_cmd(cfg.value(), a);
  std::fputs(kUsage, stderr);
  return 2;
}
