// Fuzz target: the parameters of an imported (BYODKIM) RSA private key, then the 3-prime IFMA
// signer's set-up and a signature with it. Whatever the values (uneven, oversized, even or
// tiny primes, a modulus they do not make, exponents and coefficients that do not fit), no
// crash, and a signature that comes out of the signer verifies with the key's public half: a
// key it cannot sign with correctly is left to OpenSSL.
//
// Input: 10 fields, each a 2-byte big-endian length and that many bytes of a big-endian
// integer, in the order n, e, p, q, r, dP, dQ, dR, qInv, t_r (RFC 8017 §3.2). The private
// exponent d is set to 1: the signer never reads it, and a field it ignores would only let
// mutations through to the costly set-up unchanged. All 10 must be there (OpenSSL 3.0.19's EVP_PKEY_fromdata frees a
// number twice when primes come without their exponents: its bug, on a path Sesame's DER import does not use). The key
// is built with EVP_PKEY_fromdata rather than parsed from DER: OpenSSL's decoders cost ~1 ms an input and would be what
// this fuzzed, while the values are what reaches Sesame's code.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "mailauth/dkim/rsa_multiprime.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sesame::mailauth::dkim::MultiPrimeSigner;
  static const char* kNames[] = {
      OSSL_PKEY_PARAM_RSA_N,           OSSL_PKEY_PARAM_RSA_E,         OSSL_PKEY_PARAM_RSA_FACTOR1,
      OSSL_PKEY_PARAM_RSA_FACTOR2,     OSSL_PKEY_PARAM_RSA_FACTOR3,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
      OSSL_PKEY_PARAM_RSA_EXPONENT2,   OSSL_PKEY_PARAM_RSA_EXPONENT3, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
      OSSL_PKEY_PARAM_RSA_COEFFICIENT2};
  if (size > 4096) return 0;
  using Bn = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
  std::vector<Bn> values;
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(), &OSSL_PARAM_BLD_free);
  std::size_t at = 0;
  for (const char* name : kNames) {
    if (size - at < 2) return 0;
    std::size_t len = (std::size_t(data[at]) << 8) | data[at + 1];
    at += 2;
    if (len > size - at) len = size - at;
    values.emplace_back(BN_bin2bn(data + at, int(len), nullptr), &BN_free);
    at += len;
    if (!values.back() || OSSL_PARAM_BLD_push_BN(bld.get(), name, values.back().get()) != 1) return 0;
  }
  if (at != size) return 0;  // trailing bytes: one input per key, not thousands
  if (OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, BN_value_one()) != 1) return 0;
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()), &OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> kctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr),
                                                                   &EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!params || !kctx || EVP_PKEY_fromdata_init(kctx.get()) != 1 ||
      EVP_PKEY_fromdata(kctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1)
    return 0;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, &EVP_PKEY_free);
  auto signer = MultiPrimeSigner::make(key.get());
  if (!signer) return 0;
  const std::string digest(32, static_cast<char>(size));
  const std::string sig = signer->sign_sha256(digest);
  if (sig.empty()) return 0;
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key.get(), nullptr),
                                                                  &EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1)
    return 0;
  if (EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                      reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) != 1)
    std::abort();  // a signature that does not verify left the signer
  return 0;
}
