// The Resolver interface: three answers for every lookup (found, not found, could not
// tell), so a DNS timeout becomes a temporary failure and never a "no". The real
// implementation uses c-ares; tests inject a static one or run dnsmasq on loopback.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sesame::dns {

enum class Outcome { kFound, kNotFound, kTempFail };

struct TxtAnswer {
  Outcome outcome = Outcome::kTempFail;
  std::vector<std::string> records;  // each TXT record's strings concatenated (RFC 7208 §3.3)
  std::string error;                 // for logs when kTempFail
};

struct MxRecord {
  int preference = 0;
  std::string host;
};

struct MxAnswer {
  Outcome outcome = Outcome::kTempFail;
  std::vector<MxRecord> records;  // in preference order
  std::string error;
};

struct AddressAnswer {
  Outcome outcome = Outcome::kTempFail;
  std::vector<std::string> addresses;  // textual IPv4 / IPv6 addresses, as returned
  std::string error;
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  /// TXT records at `name`, following CNAMEs as the recursive server returns them.
  virtual TxtAnswer txt(const std::string& name) = 0;
  /// MX records at `name`, sorted by preference.
  virtual MxAnswer mx(const std::string& name) = 0;
  /// A then AAAA records at `name` (IPv4 first). kNotFound only when neither exists.
  virtual AddressAnswer addresses(const std::string& name) = 0;
};

struct ResolverOptions {
  std::vector<std::string> servers;  // "host:port"; empty = the system resolver (resolv.conf)
  int timeout_ms = 2000;
  int tries = 2;
  /// Found MX and address answers are reused for their TTL, at most this long (0: never).
  std::uint32_t max_cache_ttl_seconds = 300;
};

/// The smallest TTL in a DNS response's answer section (nothing if malformed or empty).
std::optional<std::uint32_t> answer_ttl(const std::vector<unsigned char>& packet);

std::unique_ptr<Resolver> make_cares_resolver(const ResolverOptions& options);

}  // namespace sesame::dns
