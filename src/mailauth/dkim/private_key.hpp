// Internal to mailauth/dkim: the OpenSSL key behind KeyStore's opaque PrivateKey.
#pragma once

#include <openssl/evp.h>

namespace sesame::mailauth::dkim {

class PrivateKey {
 public:
  explicit PrivateKey(EVP_PKEY* key) : key_(key) {}
  ~PrivateKey() { EVP_PKEY_free(key_); }
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  EVP_PKEY* get() const { return key_; }

 private:
  EVP_PKEY* key_;
};

}  // namespace sesame::mailauth::dkim
