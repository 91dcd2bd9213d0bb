#include "app/runtime.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "base/encoding.hpp"
#include "base/ids.hpp"
#include "base/log.hpp"
#include "service/identity.hpp"
#include "service/quota.hpp"

namespace sesame::app {
namespace {
using base::ErrorCode;

base::Status write_private_file(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return base::make_error(ErrorCode::kInternal, "cannot write " + tmp);
  bool ok = ::write(fd, content.data(), content.size()) == ssize_t(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) return base::make_error(ErrorCode::kInternal, "cannot write " + path);
  // The rename is durable only once the directory is synced.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::fsync(dfd) != 0) {
    if (dfd >= 0) ::close(dfd);
    return base::make_error(ErrorCode::kInternal, "cannot sync directory of " + path);
  }
  ::close(dfd);
  return base::ok_status();
}
}  // namespace

base::Result<std::unique_ptr<Runtime>> Runtime::open(const Config& config) {
  std::unique_ptr<Runtime> r(new Runtime(config));
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return base::make_error(ErrorCode::kInternal, "cannot create data directory " + config.data_dir + ": " + ec.message());
  ::chmod(config.data_dir.c_str(), 0700);
  SESAME_ASSIGN(r->store_, store::open_sqlite({config.data_dir + "/sesame.db", config.store_durable, config.store_commit_delay_us}));
  r->resolver_ = dns::make_cares_resolver({config.dns_servers, config.dns_timeout_ms, 2});
  r->keys_ = std::make_unique<mailauth::dkim::KeyStore>(config.data_dir + "/dkim");
  service::Settings settings;
  settings.verification_window_seconds = config.verification_window_seconds;
  settings.hostname = config.hostname;
  settings.recheck_on_read_seconds = config.verification_recheck_on_read_seconds;
  settings.capture = config.delivery_mode == "capture";
  settings.bounce_domain = config.delivery_bounce_domain;
  settings.public_url = config.api_public_url;
  settings.system_sender = config.delivery_system_sender;
  settings.simulator_domain = config.delivery_simulator_domain;
  // The tracking URLs' HMAC key: made once, kept private, the same across restarts (links
  // in mail already sent must keep working).
  const std::string key_path = config.data_dir + "/tracking.key";
  if (!std::filesystem::exists(key_path)) {
    SESAME_CHECK(write_private_file(key_path, base::hex_lower(base::random_bytes(32)) + "\n"));
  }
  {
    std::FILE* f = std::fopen(key_path.c_str(), "rb");
    char buf[128] = {0};
    const std::size_t n = f ? std::fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) std::fclose(f);
    settings.tracking_key = std::string(base::trim(std::string_view(buf, n)));
    if (settings.tracking_key.size() < 32) return base::make_error(ErrorCode::kInternal, "cannot read " + key_path);
  }
  r->signer_ = std::make_unique<mailauth::dkim::Signer>(*r->keys_);
  r->services_ = std::unique_ptr<service::Services>(
      new service::Services{*r->store_, r->clock_, *r->resolver_, *r->keys_, settings});
  r->services_->signer = r->signer_.get();
  return r;
}

api::KeyLookup Runtime::key_lookup() {
  // Known keys are remembered for a minute (every request looks its key up twice: before
  // and after the body). Unknown keys always go to the store, so a key made by
  // `sesame account create` in another process works at once.
  struct Cache {
    std::mutex mu;
    std::unordered_map<std::string, std::pair<api::KeyRecord, double>> keys;
  };
  auto cache = std::make_shared<Cache>();
  store::Store* s = store_.get();
  const base::Clock* clock = &clock_;
  return [s, cache, clock](const std::string& id) -> base::Result<std::optional<api::KeyRecord>> {
    const double now = clock->now();
    {
      std::lock_guard lk(cache->mu);
      auto it = cache->keys.find(id);
      if (it != cache->keys.end() && now - it->second.second < 60) return std::optional<api::KeyRecord>(it->second.first);
    }
    SESAME_ASSIGN(auto key, s->find_access_key(id));
    if (!key) return std::optional<api::KeyRecord>();
    api::KeyRecord rec{key->secret, key->account_id};
    std::lock_guard lk(cache->mu);
    if (cache->keys.size() > 10000) cache->keys.clear();
    cache->keys[id] = {rec, now};
    return std::optional<api::KeyRecord>(rec);
  };
}

base::Result<service::json> Runtime::create_account(const std::string& name, bool production,
                                                    const std::function<base::Status(const service::json&)>& before_commit) {
  if (name.empty() || name.size() > 128) return base::make_error(ErrorCode::kInvalidParameter, "account name must be 1..128 characters");
  store::Account acct{base::account_id(), name, production, clock_.now()};
  store::AccessKey key{base::access_key_id(), base::secret_access_key(), acct.id};
  service::json out{{"AccountId", acct.id}, {"Name", name}, {"AccessKeyId", key.id},
                    {"SecretAccessKey", key.secret}, {"Production", production}};
  if (before_commit) SESAME_CHECK(before_commit(out));
  SESAME_CHECK(store_->write([&](store::Txn& t) { return t.create_account(acct, key); }));
  base::log().info("created account {} ({}) with access key {}", acct.id, name, key.id);
  return out;
}

base::Status Runtime::set_production(const std::string& account_id, bool production) {
  return store_->write([&](store::Txn& t) { return t.set_production(account_id, production); });
}

base::Result<service::json> Runtime::set_quota(const std::string& account_id, const std::string& region,
                                               double max_send_rate, double max_24_hour_send) {
  SESAME_ASSIGN(auto acct, store_->find_account(account_id));
  if (!acct) return base::make_error(ErrorCode::kNotFound, "no account " + account_id);
  service::Documents docs(*services_);
  service::Caller c{account_id, region, "", ""};
  SESAME_ASSIGN(auto doc, docs.update(c, service::kind::kAccount, "", [&](service::json& d) {
    if (max_send_rate >= 0) d["max_send_rate"] = max_send_rate;
    if (max_24_hour_send >= 0) d["max_24_hour_send"] = max_24_hour_send;
    return base::ok_status();
  }, "", true));
  service::Quota q = service::effective_quota(doc, acct->production);
  return service::json{{"AccountId", account_id}, {"Region", region}, {"MaxSendRate", q.max_rate}, {"Max24HourSend", q.max_24h}};
}

base::Status Runtime::ensure_first_account() {
  SESAME_ASSIGN(auto accounts, store_->list_accounts());
  if (!accounts.empty()) return base::ok_status();
  // The credentials file is written (and synced) before the account commits: a crash in
  // between leaves at worst an unused file, never an account whose secret is nowhere.
  const std::string path = config_.data_dir + "/credentials";
  auto created = create_account("default", false, [&](const service::json& a) {
    return write_private_file(path, "[default]\naws_access_key_id = " + a["AccessKeyId"].get<std::string>() +
                                        "\naws_secret_access_key = " + a["SecretAccessKey"].get<std::string>() +
                                        "\nregion = " + config_.region + "\n");
  });
  if (!created.ok()) {
    ::unlink(path.c_str());
    return created.error();
  }
  base::log().info("first start: created account {}; its access key is in {} (mode 0600)",
                   created.value()["AccountId"].get<std::string>(), path);
  return base::ok_status();
}

base::Result<service::json> Runtime::identity_records(const std::string& account, const std::string& region,
                                                      const std::string& raw) {
  SESAME_ASSIGN(auto name, service::identity::normalize(raw));
  service::Documents docs(*services_);
  service::Caller c{account, region, "", ""};
  SESAME_ASSIGN(auto doc, docs.require(c, service::kind::kIdentity, name, "identity " + name + " does not exist in account " + account + " region " + region));
  service::json out = service::json::array();
  for (const auto& r : service::identity::records(name, doc, services_->settings))
    out.push_back(service::json{{"Type", r.type}, {"Name", r.name}, {"Value", r.value}, {"Purpose", r.purpose}});
  return out;
}

base::Result<service::json> Runtime::verify_identity(const std::string& account, const std::string& region,
                                                     const std::string& raw) {
  SESAME_ASSIGN(auto name, service::identity::normalize(raw));
  service::Documents docs(*services_);
  service::Caller c{account, region, "", ""};
  double now = clock_.now();
  SESAME_ASSIGN(auto doc, docs.update(c, service::kind::kIdentity, name, [&](service::json& d) {
    service::identity::force_verified(d, now);
    return base::ok_status();
  }, "identity " + name + " does not exist in account " + account + " region " + region));
  return service::json{{"Identity", name}, {"VerificationStatus", service::identity::verification_status(doc)}};
}

}  // namespace sesame::app
