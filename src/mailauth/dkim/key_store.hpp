// DKIM private keys (RFC 6376 §3.3: rsa-sha256) for Easy DKIM and BYODKIM. The only code
// that touches private key bytes: it generates or imports them, keeps them in files with
// mode 0600 under the data directory, and hands out public keys only. The DKIM signer
// (sending) will live beside it.
#pragma once

#include <memory>
#include <string>

#include "base/result.hpp"

namespace sesame::mailauth::dkim {

class PrivateKey;  // opaque outside mailauth/dkim (see private_key.hpp)

/// Which key: the identity's (account, region, domain) and the key id its document names.
struct KeyRef {
  std::string account;
  std::string region;
  std::string domain;
  std::string key_id;
};

class KeyStore {
 public:
  /// `directory` is created with mode 0700 when missing.
  explicit KeyStore(std::string directory);

  /// Generates an RSA key of `bits` (1024 or 2048) for (account, region, domain) and
  /// returns its public key as base64 DER (SubjectPublicKeyInfo), the DNS `p=` value.
  base::Result<std::string> generate(const std::string& account, const std::string& region,
                                     const std::string& domain, const std::string& key_id, int bits);
  /// BYODKIM: imports a base64 private key (PKCS#1 or PKCS#8 DER, or PEM); returns the public key.
  base::Result<std::string> import(const std::string& account, const std::string& region,
                                   const std::string& domain, const std::string& key_id,
                                   const std::string& private_key);
  /// Removes the key file; missing is fine.
  void remove(const std::string& account, const std::string& region, const std::string& domain,
              const std::string& key_id);
  /// Loads a private key for signing; kNotFound when the file is missing.
  base::Result<std::shared_ptr<const PrivateKey>> load(const KeyRef& ref) const;
  /// Path of the key file (for diagnostics; never log its contents).
  std::string path_for(const std::string& account, const std::string& region, const std::string& domain,
                       const std::string& key_id) const;

 private:
  base::Status write_private(const std::string& path, const std::string& pem);
  std::string dir_;
};

}  // namespace sesame::mailauth::dkim
