// What every subcommand shares: the opened data directory, store, resolver, DKIM key
// store and services; account creation and the operator's identity commands.
#pragma once

#include <functional>
#include <memory>

#include "api/sigv4.hpp"
#include "app/config.hpp"
#include "service/services.hpp"

namespace sesame::app {

class Runtime {
 public:
  static base::Result<std::unique_ptr<Runtime>> open(const Config& config);

  /// On first start with no accounts: creates one and writes <data_dir>/credentials (0600).
  base::Status ensure_first_account();
  /// {AccountId, AccessKeyId, SecretAccessKey}
  /// `before_commit` runs with the new account's JSON before it is committed (and aborts
  /// the creation when it fails).
  base::Result<service::json> create_account(const std::string& name, bool production,
                                             const std::function<base::Status(const service::json&)>& before_commit = {});
  base::Status set_production(const std::string& account_id, bool production);
  /// An operator's quota increase for (account, region); negative values leave a limit as is.
  base::Result<service::json> set_quota(const std::string& account_id, const std::string& region, double max_send_rate,
                                        double max_24_hour_send);
  base::Result<service::json> identity_records(const std::string& account, const std::string& region,
                                               const std::string& identity);
  base::Result<service::json> verify_identity(const std::string& account, const std::string& region,
                                              const std::string& identity);

  service::Services& services() { return *services_; }
  const base::Clock& clock() const { return clock_; }
  api::KeyLookup key_lookup();

 private:
  explicit Runtime(Config c) : config_(std::move(c)) {}
  Config config_;
  base::SystemClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<dns::Resolver> resolver_;
  std::unique_ptr<mailauth::dkim::KeyStore> keys_;
  std::unique_ptr<mailauth::dkim::Signer> signer_;
  std::unique_ptr<service::Services> services_;
};

}  // namespace sesame::app
