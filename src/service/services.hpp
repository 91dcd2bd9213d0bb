// The dependencies SES semantics run against (store, clock, resolver, DKIM keys) and the
// settings that shape them; plus the entry that registers every implemented operation.
#pragma once

#include <string>

#include "base/clock.hpp"
#include "dns/resolver.hpp"
#include "mailauth/dkim/key_store.hpp"
#include "service/handler.hpp"
#include "store/store.hpp"

namespace sesame::service {

struct Settings {
  /// SES marks a domain Failed when its records do not appear within 72 hours.
  double verification_window_seconds = 72 * 3600;
  /// Pending DNS checks are redone on read at most this often per identity.
  double recheck_on_read_seconds = 0;
  /// This Sesame host's public name: custom MAIL FROM domains publish an MX pointing here
  /// (bounces and complaints come back through it).
  std::string hostname = "localhost";
};

struct Services {
  store::Store& store;
  const base::Clock& clock;
  dns::Resolver& resolver;
  mailauth::dkim::KeyStore& dkim_keys;
  Settings settings;
};

void register_identities_v1(HandlerTable& table, Services& services);
void register_identities_v2(HandlerTable& table, Services& services);
void register_configuration_sets(HandlerTable& table, Services& services);
void register_templates(HandlerTable& table, Services& services);
void register_receipt_rules(HandlerTable& table, Services& services);
void register_account(HandlerTable& table, Services& services);

inline void register_all(HandlerTable& table, Services& services) {
  register_identities_v1(table, services);
  register_identities_v2(table, services);
  register_configuration_sets(table, services);
  register_templates(table, services);
  register_receipt_rules(table, services);
  register_account(table, services);
}

}  // namespace sesame::service
