// The dependencies SES semantics run against (store, clock, resolver, DKIM keys) and the
// settings that shape them; plus the entry that registers every implemented operation.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/clock.hpp"
#include "dns/resolver.hpp"
#include "mailauth/dkim/key_store.hpp"
#include "mailauth/dkim/signer.hpp"
#include "queue/scheduler.hpp"
#include "queue/throttle.hpp"
#include "service/handler.hpp"
#include "service/rendering.hpp"
#include "store/store.hpp"

namespace sesame::service {

struct Settings {
  /// SES marks a domain Failed when its records do not appear within 72 hours.
  double verification_window_seconds = 72 * 3600;
  /// Pending DNS checks are redone on read at most this often per identity.
  double recheck_on_read_seconds = 10;
  /// This Sesame host's public name: custom MAIL FROM domains publish an MX pointing here
  /// (bounces and complaints come back through it).
  std::string hostname = "localhost";
  /// "capture": accepted mail is kept for GET /_aws/ses instead of being delivered.
  /// "deliver" (default) hands it to the delivery engine (Services::intake).
  bool capture = false;
  /// The default MAIL FROM domain (SES: a subdomain of amazonses.com): the envelope sender
  /// is <message-id>@<bounce_domain> unless the identity has a verified custom MAIL FROM.
  std::string bounce_domain = "localhost";
  /// Where verification links point ([api] public_url): this API as users reach it.
  std::string public_url = "http://127.0.0.1:4579";
  /// The From of mail Sesame itself sends (verification mails).
  std::string system_sender = "no-reply@localhost";
  /// The first four hex digits of message ids (a per-region constant in SES).
  std::string message_id_prefix = "0100";
  /// SES's mailbox simulator domain: its addresses need no verification in the sandbox, and
  /// the delivery engine answers them itself.
  std::string simulator_domain = "simulator.amazonses.com";
  /// The HMAC key of open and click tracking URLs (<data_dir>/tracking.key).
  std::string tracking_key;
};

/// When each identity's DNS records were last looked up (memory only): reads re-check at
/// most once per Settings::recheck_on_read_seconds, whatever the request rate.
class CheckTimes {
 public:
  /// True (and the time recorded) when `key` was not checked within `interval` seconds.
  bool due(const std::string& key, double now, double interval) {
    std::lock_guard lk(mu_);
    if (last_.size() > 100000) last_.clear();  // bounded; forgetting only allows one more check
    auto [it, fresh] = last_.emplace(key, now);
    if (fresh) return true;
    if (now - it->second < interval) return false;
    it->second = now;
    return true;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, double> last_;
};

/// What sending counts per (account, region) in memory: the send-rate bucket and the
/// recipients accepted in the last 24 hours (loaded once from the store, then kept here, so
/// a send never scans a day of messages). Shared by sending and GetSendQuota / GetAccount.
struct SendCounters {
  std::mutex mu;
  std::map<std::string, queue::TokenBucket> rates;
  std::map<std::string, queue::RollingDay> days;
};

/// Configuration as last read (parsed documents, accounts, whether suppression lists have
/// entries), valid while the store's config_version() is unchanged: a send reads one small
/// counter instead of several documents. Entries of an older version are dropped when a newer one is seen; bounded.
class ConfigCache {
 public:
  using Doc = std::shared_ptr<const json>;  // nullptr: the document does not exist
  /// Found (a Doc, possibly null) or not cached at `version`.
  std::optional<Doc> doc(std::uint64_t version, const std::string& key) { return get(docs_, version, key); }
  void put_doc(std::uint64_t version, const std::string& key, Doc d) { put(docs_, version, key, std::move(d)); }
  std::optional<std::optional<store::Account>> account(std::uint64_t version, const std::string& id) {
    return get(accounts_, version, id);
  }
  void put_account(std::uint64_t version, const std::string& id, std::optional<store::Account> a) {
    put(accounts_, version, id, std::move(a));
  }
  /// Whether an account's suppression list (key: account and region) has entries.
  std::optional<bool> has_suppressed(std::uint64_t version, const std::string& key) {
    return get(suppression_, version, key);
  }
  void put_has_suppressed(std::uint64_t version, const std::string& key, bool any) {
    put(suppression_, version, key, any);
  }

 private:
  static constexpr std::size_t kMaxEntries = 20000;
  template <class V>
  std::optional<V> get(const std::unordered_map<std::string, V>& map, std::uint64_t version, const std::string& key) {
    std::lock_guard lk(mu_);
    if (!current(version)) return std::nullopt;
    auto it = map.find(key);
    if (it == map.end()) return std::nullopt;
    return it->second;
  }
  template <class V>
  void put(std::unordered_map<std::string, V>& map, std::uint64_t version, const std::string& key, V value) {
    std::lock_guard lk(mu_);
    if (!current(version)) return;
    if (map.size() >= kMaxEntries) map.clear();
    map[key] = std::move(value);
  }
  /// True when `version` is the one cached; a newer one empties the cache first, an older
  /// one (a reader that started before a write) is neither served nor stored.
  bool current(std::uint64_t version) {
    if (version > version_) {
      docs_.clear();
      accounts_.clear();
      suppression_.clear();
      version_ = version;
    }
    return version == version_;
  }
  std::mutex mu_;
  std::uint64_t version_ = 0;
  std::unordered_map<std::string, Doc> docs_;
  std::unordered_map<std::string, std::optional<store::Account>> accounts_;
  std::unordered_map<std::string, bool> suppression_;
};

struct Services {
  store::Store& store;
  const base::Clock& clock;
  dns::Resolver& resolver;
  mailauth::dkim::KeyStore& dkim_keys;
  Settings settings;
  CheckTimes check_times;
  mailauth::dkim::Signer* signer = nullptr;  // set by the runtime; signs outgoing mail
  queue::Intake* intake = nullptr;            // set by the runtime in deliver mode
  SendCounters counters;
  TemplateCache templates;
  ConfigCache config;
  std::function<void()> webhooks_queued;  // set by the runtime: wakes the webhook deliverer
};

void register_identities_v1(HandlerTable& table, Services& services);
void register_identities_v2(HandlerTable& table, Services& services);
void register_configuration_sets(HandlerTable& table, Services& services);
void register_templates(HandlerTable& table, Services& services);
void register_receipt_rules(HandlerTable& table, Services& services);
void register_account(HandlerTable& table, Services& services);
void register_sending(HandlerTable& table, Services& services);
void register_suppression(HandlerTable& table, Services& services);
void register_sns(HandlerTable& table, Services& services);

inline void register_all(HandlerTable& table, Services& services) {
  register_identities_v1(table, services);
  register_identities_v2(table, services);
  register_configuration_sets(table, services);
  register_templates(table, services);
  register_receipt_rules(table, services);
  register_account(table, services);
  register_sending(table, services);
  register_suppression(table, services);
  register_sns(table, services);
}

}  // namespace sesame::service
