#include "delivery/engine.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/encoding.hpp"
#include "base/ids.hpp"
#include "base/log.hpp"
#include "base/thread.hpp"
#include "delivery/outcome.hpp"
#include "delivery/smtp_client.hpp"
#include "mime/address.hpp"
#include "mime/dsn.hpp"
#include "mime/simple_message.hpp"

namespace sesame::delivery {
namespace {

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  std::string d = at == std::string::npos ? std::string() : address.substr(at + 1);
  for (char& c : d) c = char(std::tolower(static_cast<unsigned char>(c)));
  return d;
}

/// The bounced message's header block for a DSN, at most 64 KiB (and ending in CRLF).
std::string header_block(const std::string& raw) {
  constexpr std::size_t kMax = 64 * 1024;
  auto end = raw.find("\r\n\r\n");
  std::size_t n = end == std::string::npos ? raw.size() : end + 2;
  if (n <= kMax) return raw.substr(0, n);
  std::string out = raw.substr(0, kMax);
  out.erase(out.rfind("\r\n") == std::string::npos ? 0 : out.rfind("\r\n") + 2);  // whole lines only
  return out;
}

struct Idle {
  std::unique_ptr<SmtpClient> client;
  double since = 0;
};

/// A job taken to follow the current one on its connection (Scheduler::take_next), with
/// what its commands need. `conn` holds that connection once the job's commands went out
/// behind the current message's final dot (SmtpClient::presented).
struct Next {
  queue::Job job;  // job.message holds the record
  nlohmann::json meta;  // the record's meta, parsed here once and handed to run()
  std::string return_path;
  bool require_tls = false;
  std::unique_ptr<SmtpClient> conn;
};

/// A message meta's delivery options (an empty object when it has none), read in place.
const nlohmann::json& delivery_options(const nlohmann::json& meta) {
  static const nlohmann::json kNoOptions = nlohmann::json::object();
  const auto it = meta.is_object() ? meta.find("delivery") : meta.end();
  return meta.is_object() && it != meta.end() && it->is_object() ? *it : kNoOptions;
}

/// A string member of the delivery options, "" when absent or of another type (no throw).
std::string option_string(const nlohmann::json& d, const char* key) {
  auto it = d.find(key);
  return it != d.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// One attempt's outcome on its way to the store.
struct Outcome {
  queue::Job job;
  std::string id;
  int attempts = 0;
  double now = 0, next = 0;
  std::vector<std::string> delivered, deferred, bounced;
  std::vector<std::pair<std::string, Decision>> bounced_list;
  std::string delay_note;
  std::vector<store::EventRecord> events;
  std::optional<store::MessageRecord> dsn;
  std::vector<store::MessageRecord> notices;  // the simulator's out-of-office answer, forwarded complaints
  // Hard bounces the account's suppression list takes (SuppressedReasons has BOUNCE).
  std::string account, region;
  std::vector<store::Suppressed> suppress;
  int write_failures = 0;
};

}  // namespace

struct Engine::Impl {
  store::Store& store;
  dns::Resolver& resolver;
  const base::Clock& clock;
  EngineOptions o;

  /// Bytes held by messages handed over in memory (EngineOptions::handoff_budget_bytes).
  /// Declared before the scheduler: jobs still queued at destruction release into it.
  std::atomic<std::size_t> handoff_bytes{0};
  std::mutex mu;
  std::condition_variable cv;
  queue::Scheduler sched;
  bool stopping = false;
  std::vector<std::thread> workers;
  // Each worker's state (under mu): kAsleep while it waits on cv, kBetweenJobs, or the
  // time its current job started. See need_worker().
  static constexpr double kAsleep = -1, kBetweenJobs = 0;
  std::vector<double> busy_since;
  std::size_t woken = 0;  // notified and not yet back from the wait (they count as fresh)
  std::size_t pending_writes = 0;  // outcomes handed to the store, not yet committed (under mu)
  std::condition_variable writes_cv;  // pending_writes reached 0
  std::deque<std::pair<double, std::shared_ptr<Outcome>>> failed_writes;  // (when to retry, outcome), under mu

  std::mutex pool_mu;
  std::unordered_map<std::string, std::vector<Idle>> pool;  // idle connections per destination domain

  Impl(store::Store& s, dns::Resolver& r, const base::Clock& c, EngineOptions opts)
      : store(s), resolver(r), clock(c), o(std::move(opts)), sched(o.limits) {}

  ClientOptions client_options(bool require_tls) const {
    ClientOptions co;
    co.helo_name = o.helo_name;
    co.connect_timeout = o.connect_timeout;
    co.command_timeout = o.command_timeout;
    co.data_timeout = o.data_timeout;
    co.require_tls = require_tls;
    return co;
  }

  /// Adds jobs (one per destination domain) for `recipients` of a message. Caller holds mu.
  /// Returns how many jobs it added.
  std::size_t add_jobs_locked(const std::string& message_id, const std::vector<std::string>& recipients, int attempts,
                              double due, const std::shared_ptr<const store::MessageRecord>& message = nullptr) {
    std::map<std::string, std::vector<std::string>> by_domain;
    for (const auto& r : recipients) by_domain[domain_of(r)].push_back(r);
    for (auto& [domain, rs] : by_domain) sched.add(queue::Job{message_id, domain, std::move(rs), attempts, due, message});
    return by_domain.size();
  }

  std::unique_ptr<SmtpClient> take_idle(const std::string& domain, double now) {
    std::vector<std::unique_ptr<SmtpClient>> stale;  // closed after the lock is released
    std::unique_ptr<SmtpClient> found;
    {
      std::lock_guard lk(pool_mu);
      auto it = pool.find(domain);
      if (it == pool.end()) return nullptr;
      auto& v = it->second;
      while (!v.empty() && !found) {
        Idle idle = std::move(v.back());
        v.pop_back();
        if (now - idle.since <= o.idle_seconds) found = std::move(idle.client);
        else stale.push_back(std::move(idle.client));
      }
      if (v.empty()) pool.erase(it);
    }
    for (auto& c : stale) c->quit();  // QUIT waits for a reply: never under pool_mu
    return found;
  }

  void put_idle(const std::string& domain, std::unique_ptr<SmtpClient> c, double now) {
    {
      std::lock_guard lk(pool_mu);
      auto& v = pool[domain];
      if (int(v.size()) < o.limits.per_domain) {
        v.push_back(Idle{std::move(c), now});
        return;
      }
    }
    c->quit();
  }

  void sweep_idle(double now, bool all) {
    std::vector<std::unique_ptr<SmtpClient>> closing;
    {
      std::lock_guard lk(pool_mu);
      for (auto it = pool.begin(); it != pool.end();) {
        auto& v = it->second;
        for (auto i = v.begin(); i != v.end();) {
          if (all || now - i->since > o.idle_seconds) {
            closing.push_back(std::move(i->client));
            i = v.erase(i);
          } else {
            ++i;
          }
        }
        it = v.empty() ? pool.erase(it) : std::next(it);
      }
    }
    for (auto& c : closing) c->quit();  // outside the lock: QUIT waits for a reply
  }

  /// Opens a connection for `domain`: MX hosts in preference order (the domain itself when
  /// it has none, RFC 5321 §5.1), their addresses in turn. On failure fills `fail` with a
  /// decision for every recipient.
  std::unique_ptr<SmtpClient> connect(const std::string& domain, bool require_tls, Decision& fail) {
    dns::MxAnswer mx = resolver.mx(domain);
    std::vector<std::string> hosts;
    if (mx.outcome == dns::Outcome::kTempFail) {
      fail = temporary("DNS lookup of the MX records of " + domain + " failed: " + mx.error, "TransientCommunicationFailure");
      return nullptr;
    }
    if (mx.outcome == dns::Outcome::kFound) {
      if (mx.records.size() == 1 && (mx.records[0].host.empty() || mx.records[0].host == ".")) {
        fail = permanent("5.1.10", "550 5.1.10 " + domain + " does not accept mail (null MX, RFC 7505)");
        return nullptr;
      }
      for (const auto& r : mx.records)
        if (!r.host.empty() && r.host != ".") hosts.push_back(r.host);
    } else {
      hosts.push_back(domain);
    }
    Failure last;
    bool temp_dns = false, any_address = false;
    for (const auto& host : hosts) {
      dns::AddressAnswer a = resolver.addresses(host);
      if (a.outcome == dns::Outcome::kTempFail) {
        temp_dns = true;
        last.error = "DNS lookup of " + host + " failed: " + a.error;
        continue;
      }
      std::size_t tried = 0;
      for (const auto& ip : a.addresses) {
        if (tried++ >= o.max_addresses_per_host) break;
        any_address = true;
        Failure f;
        auto c = SmtpClient::open(ip, o.mx_port, host, client_options(require_tls), f);
        if (!c && f.tls_failed && !require_tls) {
          // Opportunistic TLS: a handshake that fails (an old TLS version, a broken stack)
          // does not stop delivery; the message goes in clear, as the policy allows.
          base::log().info("delivery: STARTTLS with {} ({}) failed ({}); retrying without TLS", host, ip, f.error);
          ClientOptions plain = client_options(false);
          plain.try_starttls = false;
          f = Failure{};
          c = SmtpClient::open(ip, o.mx_port, host, plain, f);
        }
        if (c) return c;
        if (!f.error.empty() || f.reply) last = f;
      }
    }
    if (!any_address && !temp_dns) {
      fail = permanent("5.1.2", "550 5.1.2 Host or domain name not found: no MX or address records for " + domain, "General");
      return nullptr;
    }
    if (last.reply) {  // the last host refused us with a reply (greeting or EHLO): it decides
      fail = decide(*last.reply);
      return nullptr;
    }
    fail = temporary(last.error.empty() ? "no MX host of " + domain + " could be reached" : last.error,
                     "TransientCommunicationFailure", last.tls_missing ? "4.7.10" : "4.4.1");
    return nullptr;
  }

  /// The next ready job for `domain` with its record and envelope sender, to go on the
  /// connection of the job running now; nothing when none is ready (or stopping). Does not
  /// throw: the job is out of the scheduler, so a failure puts it back for later.
  std::optional<Next> take_next(const std::string& domain) {
    std::optional<queue::Job> j;
    {
      std::lock_guard lk(mu);
      if (!stopping) j = sched.take_next(domain, clock.now());
    }
    if (!j) return std::nullopt;
    Next n;
    n.job = std::move(*j);
    try {
      if (!n.job.message) {
        auto loaded = load(n.job);
        if (!loaded) return std::nullopt;
        n.job.message = std::make_shared<const store::MessageRecord>(std::move(*loaded));
      }
      n.meta = json::parse(n.job.message->meta, nullptr, false);
      const json& d = delivery_options(n.meta);
      n.return_path = option_string(d, "return_path");
      const auto tls = d.find("require_tls");
      n.require_tls = tls != d.end() && tls->is_boolean() && tls->get<bool>();
    } catch (const std::exception& e) {
      base::log().error("delivery: cannot prepare {} for {}: {}", n.job.message_id, domain, e.what());
      fail_job(n.job);
      return std::nullopt;
    }
    return n;
  }

  /// One attempt for a job's recipients. Fills per-recipient decisions and the remote peer.
  /// `presented`: the connection that already carries this job's commands. Takes the next
  /// ready job for the domain into `next` and, when the connection pipelines, sends its
  /// commands behind this message (next->conn then holds the connection for it).
  std::vector<Decision> attempt(const queue::Job& job, const std::string& mail_from, const std::string& raw,
                                bool require_tls, EventContext& ctx, std::unique_ptr<SmtpClient> presented,
                                std::optional<Next>& next) {
    std::vector<Decision> out(job.recipients.size());
    for (int round = 0; round < 2; ++round) {
      std::unique_ptr<SmtpClient> c =
          round == 0 ? (presented ? std::move(presented) : take_idle(job.domain, clock.now())) : nullptr;
      if (c && require_tls && !c->tls()) {
        c->quit();
        c.reset();
      }
      const bool reused = c != nullptr;
      if (!c) {
        Decision fail;
        c = connect(job.domain, require_tls, fail);
        if (!c) {
          std::fill(out.begin(), out.end(), fail);
          return out;
        }
      }
      ctx.remote_ip = c->ip();
      ctx.remote_host = c->host();
      // Only on a connection whose server answered its last message quickly: the next job
      // waits for this message's answer, and must not be held up by a slow or stalling one.
      if (!next && c->pipelining() && c->transactions() + 1 < o.max_transactions_per_connection &&
          c->last_data_seconds() >= 0 && c->last_data_seconds() <= kPipelineAfterSeconds)
        next = take_next(job.domain);
      std::optional<SmtpClient::Envelope> ahead;
      if (next && (!next->require_tls || c->tls()))
        ahead.emplace(SmtpClient::Envelope{next->return_path, next->job.recipients, next->job.message->raw});
      auto results = c->send(mail_from, job.recipients, raw, ahead ? &*ahead : nullptr);
      if (reused && !c->answered()) {
        // The server closed the idle connection meanwhile (it answered nothing at all, so
        // no data reached it): try once on a fresh connection.
        c.reset();
        continue;
      }
      for (std::size_t i = 0; i < results.size(); ++i) out[i] = decide(results[i]);
      if (c->presented() && c->reusable()) {
        next->conn = std::move(c);  // the next job's commands are on it: it goes on there
      } else if (c->reusable() && c->transactions() < o.max_transactions_per_connection)
        put_idle(job.domain, std::move(c), clock.now());
      else
        c->quit();
      return out;
    }
    return out;
  }

  /// `parsed`: the record's meta when take_next() parsed it already (else not an object).
  void run(queue::Job& job, json parsed, std::unique_ptr<SmtpClient> presented, std::optional<Next>& next) {
    std::shared_ptr<const store::MessageRecord> held = std::move(job.message);
    std::optional<store::MessageRecord> loaded;
    if (!held && !(loaded = load(job))) return;
    const store::MessageRecord& rec = held ? *held : *loaded;
    json meta = parsed.is_object() ? std::move(parsed) : json::parse(rec.meta, nullptr, false);
    if (meta.is_discarded()) meta = json::object();
    const json& d = delivery_options(meta);
    const std::string return_path = d.value("return_path", std::string());
    const bool require_tls = d.value("require_tls", false);
    const double expiry = rec.accepted + d.value("max_delivery_seconds", kDefaultMaxDeliverySeconds);

    EventContext ctx;
    ctx.mail_json = rec.mail;
    ctx.reporting_mta = o.helo_name;
    std::vector<Decision> decisions;
    if (!o.simulator_domain.empty() && job.domain == o.simulator_domain) {
      for (const auto& r : job.recipients) decisions.push_back(simulate(r));  // no network at all
      ctx.remote_host = "simulator";
    } else {
      decisions = attempt(job, return_path, rec.raw, require_tls, ctx, std::move(presented), next);
    }
    ctx.now = clock.now();
    commit_reporting(job, rec, d, expiry, ctx, decisions);
  }

  /// A job that threw before its outcome was known (a bug, or a record this version cannot
  /// read). Its recipients are deferred like any temporary failure: attempts counted, the
  /// retry schedule, a DeliveryDelay event of type InternalFailure; when the message's
  /// delivery time is up they bounce. So such a message still ends in an event instead of
  /// being tried forever. Does not throw (if even this fails, the job is tried again later).
  void fail_job(const queue::Job& job) {
    try {
      const auto loaded = load(job);
      if (!loaded) return;
      const store::MessageRecord& rec = *loaded;
      const json meta = json::parse(rec.meta, nullptr, false);
      const json& d = delivery_options(meta);
      const auto max = d.find("max_delivery_seconds");
      const double expiry =
          rec.accepted + (max != d.end() && max->is_number() ? max->get<double>() : kDefaultMaxDeliverySeconds);
      EventContext ctx;
      ctx.mail_json = rec.mail;
      ctx.reporting_mta = o.helo_name;
      ctx.now = clock.now();
      // The exception's text stays in the log: events go to the sender's own endpoints.
      std::vector<Decision> decisions(job.recipients.size(),
                                      temporary("Temporary internal failure", "InternalFailure", "4.3.0"));
      commit_reporting(job, rec, d, expiry, ctx, decisions);
    } catch (const std::exception& e) {
      base::log().error("delivery: cannot defer {} after a failure, retrying in {} s: {}", job.message_id,
                        kFailedJobRetrySeconds, e.what());
      retry_later(job, kFailedJobRetrySeconds);
    }
  }

  /// commit(), and when building the outcome throws (options of a type this version does
  /// not expect, say), again with default options, and at last without events: the
  /// recipients' states must move on whatever the record holds. Throws only if all fail.
  void commit_reporting(const queue::Job& job, const store::MessageRecord& rec, const json& d, double expiry,
                        EventContext& ctx, std::vector<Decision>& decisions) {
    static const json kDefaults = json::object();
    for (int pass = 0;; ++pass) {
      try {
        // commit() turns expired deferrals into bounces in `decisions`; a second pass finds
        // them bounced already and reports them the same way.
        commit(job, rec, pass == 0 ? d : kDefaults, expiry, ctx, decisions, /*report=*/pass < 2);
        return;
      } catch (const std::exception& e) {
        if (pass == 2) throw;
        base::log().error("delivery: cannot build the outcome for {} ({}): {}", rec.id,
                          pass == 0 ? "trying default options" : "recording it without events", e.what());
      }
    }
  }

  /// `report`: with events, the DSN and the simulator's notices (else only the states).
  void commit(const queue::Job& job, const store::MessageRecord& rec, const json& d, double expiry, EventContext& ctx,
              std::vector<Decision>& decisions, bool report) {
    const double now = ctx.now;
    const int attempts = job.attempts + 1;
    std::vector<std::string> delivered, deferred, bounced;
    std::vector<std::pair<std::string, Decision>> delayed_list, bounced_list;
    for (std::size_t i = 0; i < job.recipients.size(); ++i) {
      Decision& dec = decisions[i];
      const std::string& r = job.recipients[i];
      if (dec.kind == Decision::kDeferred && now >= expiry) {
        // Retries exhausted: SES reports a soft bounce it stopped retrying as a Transient Bounce.
        dec.kind = Decision::kBounced;
        dec.bounce_type = "Transient";
        dec.bounce_subtype = "General";
        dec.diagnostic = "Message expired after " + std::to_string(attempts) + " attempts: " + dec.diagnostic;
        if (dec.status.empty() || dec.status[0] != '5') dec.status = "4.4.7";
      }
      switch (dec.kind) {
        case Decision::kDelivered: delivered.push_back(r); break;
        case Decision::kDeferred: deferred.push_back(r); delayed_list.emplace_back(r, dec); break;
        case Decision::kBounced: bounced.push_back(r); bounced_list.emplace_back(r, dec); break;
      }
    }
    const double next = std::min(now + o.retry.delay(attempts), expiry);

    std::vector<store::EventRecord> events;
    std::vector<store::Suppressed> suppress;
    std::vector<std::string> complained;  // the mailbox simulator's complaint@: delivered, then complained about
    for (std::size_t i = 0; i < job.recipients.size(); ++i)
      if (decisions[i].kind == Decision::kDelivered && decisions[i].complaint) complained.push_back(job.recipients[i]);
    const bool has_events = report && !ctx.mail_json.empty() && !rec.account.empty();
    if (has_events) {
      for (std::size_t i = 0; i < job.recipients.size(); ++i)
        if (decisions[i].kind == Decision::kDelivered)
          events.push_back({rec.account, rec.region, rec.id, "Delivery",
                            delivery_event(ctx, rec.accepted, job.recipients[i], decisions[i].diagnostic), now});
      if (!complained.empty())
        events.push_back({rec.account, rec.region, rec.id, "Complaint",
                          complaint_event(ctx, complained, base::ses_message_id(now, o.message_id_prefix), "abuse",
                                          "Amazon SES Mailbox Simulator", rec.accepted),
                          now});
      if (!delayed_list.empty())
        events.push_back({rec.account, rec.region, rec.id, "DeliveryDelay",
                          delay_event(ctx, delayed_list.front().second.delay_type, expiry, delayed_list), now});
      std::map<std::pair<std::string, std::string>, std::vector<std::pair<std::string, Decision>>> groups;
      for (const auto& b : bounced_list) groups[{b.second.bounce_type, b.second.bounce_subtype}].push_back(b);
      for (const auto& [type, list] : groups) {
        const std::string feedback_id = base::ses_message_id(now, o.message_id_prefix);
        events.push_back({rec.account, rec.region, rec.id, "Bounce", bounce_event(ctx, type.first, type.second, list, feedback_id), now});
        if (type.first == "Permanent" && d.value("suppress_bounces", false) && job.domain != o.simulator_domain)
          for (const auto& [addr, dec] : list)
            suppress.push_back(store::Suppressed{base::to_lower_ascii(addr), "BOUNCE", now, rec.id, feedback_id});
      }
    }

    // A DSN to the sender (RFC 3464) when feedback forwarding is on; never for a DSN.
    std::optional<store::MessageRecord> dsn;
    const std::string source = d.value("source", std::string());
    if (report && !bounced_list.empty() && d.value("feedback_forwarding", true) && !d.value("dsn", false) &&
        !d.value("return_path", std::string()).empty() && !source.empty()) {
      mime::Dsn m;
      m.from = "MAILER-DAEMON@" + o.bounce_domain;
      m.to = source;
      m.reporting_mta = o.helo_name;
      const std::string id = base::ses_message_id(now, o.message_id_prefix);
      m.message_id = id + "@" + o.bounce_domain;
      m.original_headers = header_block(rec.raw);
      m.arrival = rec.accepted;
      m.now = now;
      for (const auto& [addr, dec] : bounced_list) m.recipients.push_back({addr, dec.status, ctx.remote_host, dec.diagnostic});
      dsn = notice(id, rec.region, now, source, mime::build_dsn(m));
    }

    // The mailbox simulator's ooto@ answers the sender with an automatic reply (RFC 3834),
    // never to a DSN or another automatic message; its complaint@ complaint is forwarded to
    // the sender as an ARF report when feedback forwarding is on, as SES does.
    std::vector<store::MessageRecord> notices;
    std::vector<std::string> ooto;
    for (std::size_t i = 0; i < job.recipients.size(); ++i)
      if (decisions[i].kind == Decision::kDelivered && decisions[i].auto_reply) ooto.push_back(job.recipients[i]);
    if (report && !ooto.empty() && !source.empty() && !d.value("dsn", false)) {
      mime::SimpleMessage m;
      auto from = mime::parse_mailbox(ooto.front());
      auto to = mime::parse_mailbox(source);
      if (from.ok() && to.ok()) {
        m.from = from.value();
        m.to.push_back(to.value());
        m.subject.data = "Out of the office";
        m.text = mime::TextPart{"I am out of the office and will answer when I am back.\r\n\r\n"
                                "(An automatic reply from the Amazon SES mailbox simulator.)\r\n", "UTF-8"};
        m.headers.emplace_back("Auto-Submitted", "auto-replied");
        const std::string id = base::ses_message_id(now, o.message_id_prefix);
        m.message_id = id + "@" + o.bounce_domain;
        m.date = now;
        if (auto raw = mime::build_simple(m); raw.ok()) notices.push_back(notice(id, rec.region, now, source, std::move(raw).value()));
      }
    }

    if (report && !complained.empty() && !source.empty() && !d.value("dsn", false) &&
        d.value("feedback_forwarding", true)) {
      mime::Arf a;
      a.from = "complaints@" + o.bounce_domain;
      a.to = source;
      const std::string id = base::ses_message_id(now, o.message_id_prefix);
      a.message_id = id + "@" + o.bounce_domain;
      a.user_agent = "Amazon SES Mailbox Simulator";
      a.original_mail_from = d.value("return_path", std::string());
      a.original_rcpt_to = complained.front();
      a.original_headers = header_block(rec.raw);
      a.arrival = rec.accepted;
      a.now = now;
      notices.push_back(notice(id, rec.region, now, source, mime::build_arf(a)));
    }

    // The outcome is committed without holding this worker: it goes on to its next job
    // while the store batches this write with others. The scheduler learns of retries and
    // DSNs only once the commit is durable.
    auto out = std::make_shared<Outcome>();
    out->job = job;
    out->job.message.reset();
    out->id = rec.id;
    out->attempts = attempts;
    out->now = now;
    out->next = next;
    out->delivered = std::move(delivered);
    out->deferred = std::move(deferred);
    out->bounced = std::move(bounced);
    out->bounced_list = std::move(bounced_list);
    out->delay_note = delayed_list.empty() ? std::string() : delayed_list.front().second.diagnostic;
    out->events = std::move(events);
    out->dsn = std::move(dsn);
    out->notices = std::move(notices);
    out->account = rec.account;
    out->region = rec.region;
    out->suppress = std::move(suppress);
    record(out);
  }

  /// Hands an outcome to the store (again, after a failed write).
  void record(const std::shared_ptr<Outcome>& out) {
    {
      std::lock_guard lk(mu);
      ++pending_writes;
    }
    store.write_async(
        [out](store::Txn& t) -> base::Status {
          if (!out->delivered.empty())
            SESAME_CHECK(t.set_recipients(out->id, out->delivered, store::state::kDelivered, out->attempts, out->now));
          if (!out->deferred.empty())
            SESAME_CHECK(t.set_recipients(out->id, out->deferred, store::state::kDeferred, out->attempts, out->next));
          if (!out->bounced.empty())
            SESAME_CHECK(t.set_recipients(out->id, out->bounced, store::state::kBounced, out->attempts, out->now));
          for (const auto& e : out->events) SESAME_CHECK(t.insert_event(e));
          for (const auto& e : out->suppress) SESAME_CHECK(t.suppress(out->account, out->region, e));
          if (out->dsn) SESAME_CHECK(t.insert_message(*out->dsn));
          for (const auto& n : out->notices) SESAME_CHECK(t.insert_message(n));
          return base::ok_status();
        },
        [this, out](base::Status st) {
          committed(out, st);
          std::lock_guard lk(mu);
          if (--pending_writes == 0) writes_cv.notify_all();
        },
        // An outcome lost to a power failure (never to a crash of the process) leaves its
        // recipients queued: they are attempted again, as when a crash falls between the
        // remote 250 and this commit. So outcomes need no fsync of their own.
        store::Store::Durability::kRelaxed);
  }

  /// After an outcome's commit (on the store's writer thread).
  void committed(const std::shared_ptr<Outcome>& outp, const base::Status& st) {
    const Outcome& out = *outp;
    if (!st.ok()) {
      // The attempt happened (recipients may have their copy); only its record is missing.
      // The write is retried with growing delays, never the SMTP transaction, so a store
      // outage does not send copy after copy. Until it lands the recipients stay queued in
      // the store: a restart meanwhile delivers them again (as after a crash).
      const double delay = std::min(600.0, 5.0 * std::ldexp(1.0, std::min(outp->write_failures++, 7)));
      base::log().error("delivery: cannot record the outcome for {} (retrying in {} s): {}", out.id, delay,
                        st.error().message);
      std::lock_guard lk(mu);
      failed_writes.emplace_back(clock.now() + delay, outp);
      return;
    }
    for (const auto& [addr, dec] : out.bounced_list)
      base::log().info("delivery: {} to {} bounced ({} {}): {}", out.id, addr, dec.bounce_type, dec.bounce_subtype, dec.diagnostic);
    if (!out.deferred.empty())
      base::log().info("delivery: {} to {} deferred (attempt {}): {}", out.id, out.job.domain, out.attempts, out.delay_note);
    std::lock_guard lk(mu);
    if (!out.deferred.empty()) sched.add(queue::Job{out.id, out.job.domain, out.deferred, out.attempts, out.next});
    if (out.dsn) add_jobs_locked(out.dsn->id, out.dsn->recipients, 0, out.now);
    for (const auto& n : out.notices) add_jobs_locked(n.id, n.recipients, 0, out.now);
    if (out.dsn || !out.notices.empty()) wake_for_ready(clock.now());
  }

  /// A job's stored record; nothing when it was deleted meanwhile, or when it cannot be read
  /// now (the job is then tried again in 30 s).
  std::optional<store::MessageRecord> load(const queue::Job& job) {
    auto r = store.message(job.message_id);
    if (!r.ok()) {
      base::log().error("delivery: cannot load message {}: {}", job.message_id, r.error().message);
      retry_later(job, 30);
      return std::nullopt;
    }
    if (!r.value()) return std::nullopt;  // deleted meanwhile
    return std::move(*r.value());
  }

  void retry_later(const queue::Job& job, double seconds) {
    std::lock_guard lk(mu);
    queue::Job again = job;
    again.message.reset();
    again.due = clock.now() + seconds;
    sched.add(std::move(again));
  }

  /// A worker that comes back for the next ready job soon: awake between jobs, woken, or
  /// on a job that started less than kFreshSeconds ago (a destination that answers slowly
  /// makes its worker stale, and ready jobs then wake others).
  static constexpr double kFreshSeconds = 0.005;
  /// A connection carries the next job's commands behind a message only when its server
  /// answered the previous message's final dot within this many seconds.
  static constexpr double kPipelineAfterSeconds = 0.5;
  /// A job whose failure could not even be recorded is tried again after this long.
  static constexpr double kFailedJobRetrySeconds = 300;
  /// SES's default (and longest) delivery time, for records that name none.
  static constexpr double kDefaultMaxDeliverySeconds = 50400;
  /// Ready jobs left to each fresh worker before another is woken: a worker runs a few
  /// quick jobs in a row instead of each waking a thread of its own (a wake-up and a
  /// context switch per message, about 3% of the CPU at 2,000 messages a second).
  static constexpr std::size_t kJobsPerFreshWorker = 4;

  /// Whether another worker should be woken for the ready jobs (caller holds mu).
  bool need_worker(double now) {
    const std::size_t ready = sched.ready(now);
    if (ready == 0 || !sched.can_start()) return false;
    std::size_t fresh = woken, asleep = 0;
    for (double t : busy_since) {
      if (t == kAsleep) ++asleep;
      else if (t == kBetweenJobs || now - t < kFreshSeconds) ++fresh;
    }
    return asleep > woken && ready > fresh * kJobsPerFreshWorker;
  }
  /// Wakes workers while need_worker() says so (caller holds mu).
  void wake_for_ready(double now) {
    for (std::size_t i = 0; i < busy_since.size() && need_worker(now); ++i) {
      ++woken;
      cv.notify_one();
    }
  }

  void worker(std::size_t me) {
    std::unique_lock lk(mu);
    double last_sweep = 0;
    busy_since[me] = kBetweenJobs;
    while (!stopping) {
      const double now = clock.now();
      if (!failed_writes.empty() && failed_writes.front().first <= now) {
        auto out = std::move(failed_writes.front().second);
        failed_writes.pop_front();
        lk.unlock();
        record(out);
        lk.lock();
        continue;
      }
      if (auto job = sched.take(now)) {
        busy_since[me] = std::max(now, 1e-9);
        // More ready jobs than the fresh workers will come back for: wake one more (one,
        // not all: they would only contend for this lock). A finished job wakes nobody:
        // this worker comes back here and takes the next job itself.
        wake_for_ready(now);
        lk.unlock();
        const std::string domain = job->domain;
        // Jobs of the same domain that were ready meanwhile follow on the same connection,
        // each pipelined behind the one before (attempt() takes them), in this job's slot.
        std::unique_ptr<SmtpClient> presented;
        json meta(json::value_t::discarded);
        for (queue::Job current = std::move(*job);;) {
          std::optional<Next> next;
          try {
            run(current, std::move(meta), std::move(presented), next);
          } catch (const std::exception& e) {
            // A bug or a record this version cannot read, not the destination's doing: the
            // recipients are deferred (fail_job) and the other jobs go on (an exception
            // leaving the thread would end the server).
            base::log().error("delivery: job for {} to {} failed: {}", current.message_id, domain, e.what());
            fail_job(current);
          }
          if (!next) break;
          current = std::move(next->job);
          presented = std::move(next->conn);
          meta = std::move(next->meta);
        }
        lk.lock();
        sched.finish(domain);
        busy_since[me] = kBetweenJobs;
        continue;
      }
      if (now - last_sweep >= 1) {
        last_sweep = now;
        lk.unlock();
        sweep_idle(now, false);
        lk.lock();
        continue;
      }
      // Ready jobs left to a worker that then met a slow destination are taken at the
      // latest by this timed wake-up (a quarter of a second while any job is ready).
      double wait = sched.ready(now) > 0 ? 0.25 : 1.0;
      if (auto due = sched.next_due()) wait = std::clamp(*due - now, 0.005, wait);
      busy_since[me] = kAsleep;
      cv.wait_for(lk, std::chrono::duration<double>(wait));
      busy_since[me] = kBetweenJobs;
      if (woken > 0) --woken;
    }
  }
};

Engine::Engine(store::Store& store, dns::Resolver& resolver, const base::Clock& clock, EngineOptions options)
    : impl_(std::make_unique<Impl>(store, resolver, clock, std::move(options))) {}

Engine::~Engine() { stop(); }

base::Status Engine::start() {
  SESAME_ASSIGN(auto pending, impl_->store.pending_recipients());
  {
    std::lock_guard lk(impl_->mu);
    // Group recipients of one message that share a retry time into one job per domain.
    std::size_t i = 0;
    while (i < pending.size()) {
      std::size_t j = i;
      std::vector<std::string> rs;
      while (j < pending.size() && pending[j].message_id == pending[i].message_id &&
             pending[j].attempts == pending[i].attempts && pending[j].next_attempt == pending[i].next_attempt)
        rs.push_back(pending[j++].address);
      impl_->add_jobs_locked(pending[i].message_id, rs, pending[i].attempts, pending[i].next_attempt);
      i = j;
    }
  }
  if (!pending.empty()) base::log().info("delivery: resumed {} queued recipients", pending.size());
  int n = std::max(1, impl_->o.limits.global);
  {
    std::lock_guard lk(impl_->mu);
    impl_->busy_since.assign(std::size_t(n), Impl::kBetweenJobs);
  }
  for (int k = 0; k < n; ++k) impl_->workers.emplace_back([this, k] {
      pthread_setname_np(pthread_self(), "sesame-deliver");  // visible in top -H and perf
      // Delivery is background work: under load the CPU goes first to accepting requests,
      // whose latency callers see (nice +5, and a reply from the destination does not
      // preempt them: SCHED_BATCH, for these threads only).
      if (!base::run_as_batch_work(5)) base::log().debug("delivery: cannot lower this worker's scheduling class");
      impl_->worker(std::size_t(k));
    });
  return base::ok_status();
}

void Engine::stop() {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->stopping && impl_->workers.empty()) return;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->workers) t.join();
  impl_->workers.clear();
  {
    // Outcomes still on their way to the store call back into this engine: wait for them.
    // The store always answers (at worst "shutting down"), so this wait ends.
    std::unique_lock lk(impl_->mu);
    impl_->writes_cv.wait(lk, [&] { return impl_->pending_writes == 0; });
  }
  impl_->sweep_idle(0, true);
}

std::string Engine::metrics() const {
  std::size_t waiting = 0, running = 0;
  {
    std::lock_guard lk(impl_->mu);
    waiting = impl_->sched.waiting();
    running = impl_->sched.running();
  }
  return "# HELP sesame_delivery_jobs Delivery jobs (a message's recipients at one domain) by state.\n"
         "# TYPE sesame_delivery_jobs gauge\n"
         "sesame_delivery_jobs{state=\"waiting\"} " + std::to_string(waiting) +
         "\nsesame_delivery_jobs{state=\"running\"} " + std::to_string(running) +
         "\n# HELP sesame_delivery_handoff_bytes Bytes of accepted messages held in memory for their first attempt.\n"
         "# TYPE sesame_delivery_handoff_bytes gauge\n"
         "sesame_delivery_handoff_bytes " + std::to_string(impl_->handoff_bytes.load()) + "\n";
}

void Engine::submit(store::MessageRecord message) {
  // Handed over in memory while the budget allows (no store read for the first attempt);
  // the bytes are released when the last job holding the message lets go of it.
  std::shared_ptr<const store::MessageRecord> held;
  const std::size_t bytes = message.raw.size() + message.meta.size();
  if (impl_->handoff_bytes.fetch_add(bytes) + bytes <= impl_->o.handoff_budget_bytes) {
    Impl* impl = impl_.get();
    held = std::shared_ptr<const store::MessageRecord>(new store::MessageRecord(std::move(message)),
                                                       [impl, bytes](const store::MessageRecord* m) {
                                                         impl->handoff_bytes -= bytes;
                                                         delete m;
                                                       });
  } else {
    impl_->handoff_bytes -= bytes;
  }
  const store::MessageRecord& m = held ? *held : message;
  std::lock_guard lk(impl_->mu);
  const double now = impl_->clock.now();
  // One job per destination domain; workers are woken only as the backlog needs them.
  impl_->add_jobs_locked(m.id, m.recipients, 0, now, held);
  impl_->wake_for_ready(now);
}

}  // namespace sesame::delivery
