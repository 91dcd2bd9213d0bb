// Internal to mailauth/dkim: RSASSA-PKCS1-v1_5 / SHA-256 signing (RFC 8017 §8.2) with
// 3-prime RSA-2048 keys (RFC 8017 §3.2, the multi-prime form; OpenSSL caps 2048-bit keys at
// three primes) on CPUs with AVX-512 IFMA. The three exponentiations modulo the ~683-bit
// primes run side by side, one per 64-bit lane, in 52-bit limbs. That costs about half of
// OpenSSL 3.0's best RSA-2048 signature (two 1024-bit exponentiations), and signing is
// Sesame's largest cost per message (docs/benchmarks.md).
//
// Its guards are OpenSSL's: the message is blinded (BN_BLINDING, renewed as OpenSSL renews
// it), the exponentiation is a fixed window with every table entry read for each lookup and
// no branch on secret data, and each signature is checked with the public exponent before
// it is returned (a fault must not leak a prime). Anything unusual gives an empty result,
// and the caller signs with OpenSSL instead. The recombination of the three parts is
// OpenSSL's big-number arithmetic on blinded values, as in OpenSSL's own multi-prime path
// (its 2-prime path has a constant-time one).
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

namespace sesame::mailauth::dkim {

class MultiPrimeSigner {
 public:
  /// nullptr unless `key` is a 3-prime RSA key of 2048 bits and the CPU has AVX-512 IFMA and
  /// VL (and `enabled()`).
  static std::unique_ptr<MultiPrimeSigner> make(const EVP_PKEY* key);
  /// Whether this CPU can run it: AVX-512 IFMA and VL, the environment variable
  /// SESAME_RSA_IFMA is not "0" (for comparing against OpenSSL's own signing), and
  /// disable() was not called.
  static bool enabled();
  /// Turns the path off for the whole process, for every key and thread: after a signature
  /// failed its check once, a fault or a bug is suspected, and OpenSSL signs from then on.
  static void disable();
  ~MultiPrimeSigner();
  MultiPrimeSigner(const MultiPrimeSigner&) = delete;
  MultiPrimeSigner& operator=(const MultiPrimeSigner&) = delete;

  /// The 256-byte signature of a 32-byte SHA-256 digest; empty on any failure. One thread at
  /// a time (the blinding factor changes with each signature).
  std::string sign_sha256(std::string_view digest);

  struct State;

 private:
  explicit MultiPrimeSigner(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace sesame::mailauth::dkim
