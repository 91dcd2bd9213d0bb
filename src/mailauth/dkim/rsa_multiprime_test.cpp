// The AVX-512 IFMA signer against OpenSSL: RSASSA-PKCS1-v1_5 is deterministic, so every
// signature must equal OpenSSL's byte for byte, for many keys and digests.
#include "mailauth/dkim/rsa_multiprime.hpp"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "base/encoding.hpp"
#include "mailauth/dkim/key_store.hpp"
#include "mailauth/dkim/private_key.hpp"
#include "mailauth/dkim/signer.hpp"

namespace sesame::mailauth::dkim {
namespace {

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

PKey rsa_key(int bits, int primes) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr),
                                                                  &EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  EXPECT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_keygen_primes(ctx.get(), primes), 1);
  EXPECT_EQ(EVP_PKEY_keygen(ctx.get(), &key), 1);
  return PKey(key, &EVP_PKEY_free);
}

std::string openssl_sign(EVP_PKEY* key, const std::string& digest) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr), &EVP_PKEY_CTX_free);
  EXPECT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()), 1);
  std::string sig(256, '\0');
  std::size_t len = sig.size();
  EXPECT_EQ(EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                          reinterpret_cast<const unsigned char*>(digest.data()), digest.size()),
            1);
  sig.resize(len);
  return sig;
}

using Bn = std::unique_ptr<BIGNUM, decltype(&BN_clear_free)>;
Bn bn() { return Bn(BN_new(), &BN_clear_free); }

/// A 3-prime RSA-2048 key built from its parameters, as an imported (BYODKIM) key may come:
/// primes of the given sizes (OpenSSL's own generator always makes them 683/683/682 bits).
/// `break_coefficient` spoils t_3, so the parameters no longer fit together.
PKey key_from_primes(int b1, int b2, int b3, bool break_coefficient = false) {
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), &BN_CTX_free);
  Bn e = bn(), n = bn(), phi = bn(), d = bn(), t = bn(), one = bn();
  Bn p[3] = {bn(), bn(), bn()}, dp[3] = {bn(), bn(), bn()}, c[2] = {bn(), bn()};
  const int bits[3] = {b1, b2, b3};
  BN_set_word(e.get(), 65537);
  BN_one(one.get());
  for (int attempt = 0; attempt < 50; ++attempt) {
    bool good = true;
    BN_one(n.get());
    BN_one(phi.get());
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(BN_generate_prime_ex2(p[i].get(), bits[i], 0, nullptr, nullptr, nullptr, ctx.get()), 1);
      BN_sub(t.get(), p[i].get(), one.get());
      BN_gcd(d.get(), t.get(), e.get(), ctx.get());
      good = good && BN_is_one(d.get());
      BN_mul(n.get(), n.get(), p[i].get(), ctx.get());
      BN_mul(phi.get(), phi.get(), t.get(), ctx.get());
    }
    if (good && BN_num_bits(n.get()) == 2048) break;
  }
  EXPECT_EQ(BN_num_bits(n.get()), 2048);
  EXPECT_TRUE(BN_mod_inverse(d.get(), e.get(), phi.get(), ctx.get()));
  for (int i = 0; i < 3; ++i) {
    BN_sub(t.get(), p[i].get(), one.get());
    BN_mod(dp[i].get(), d.get(), t.get(), ctx.get());
  }
  EXPECT_TRUE(BN_mod_inverse(c[0].get(), p[1].get(), p[0].get(), ctx.get()));  // qInv
  BN_mul(t.get(), p[0].get(), p[1].get(), ctx.get());
  EXPECT_TRUE(BN_mod_inverse(c[1].get(), t.get(), p[2].get(), ctx.get()));  // t_3 = (pq)^-1 mod r
  if (break_coefficient) BN_add_word(c[1].get(), 1);

  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(), &OSSL_PARAM_BLD_free);
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, d.get());
  const char* factors[3] = {OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_FACTOR3};
  const char* exps[3] = {OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_EXPONENT3};
  for (int i = 0; i < 3; ++i) {
    OSSL_PARAM_BLD_push_BN(bld.get(), factors[i], p[i].get());
    OSSL_PARAM_BLD_push_BN(bld.get(), exps[i], dp[i].get());
  }
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, c[0].get());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT2, c[1].get());
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()), &OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> kctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr),
                                                                   &EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata_init(kctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_fromdata(kctx.get(), &key, EVP_PKEY_KEYPAIR, params.get()), 1);
  return PKey(key, &EVP_PKEY_free);
}

std::string random_digest() {
  std::string d(32, '\0');
  EXPECT_EQ(RAND_bytes(reinterpret_cast<unsigned char*>(d.data()), 32), 1);
  return d;
}

TEST(MultiPrimeSigner, SignaturesEqualOpenSslsByteForByte) {
  if (!MultiPrimeSigner::enabled()) GTEST_SKIP() << "no AVX-512 IFMA on this CPU (or SESAME_RSA_IFMA=0)";
  // Several fresh keys (exponents of different lengths: the top windows differ); 2,000
  // signatures cross many blinding renewals.
  for (int k = 0; k < 4; ++k) {
    PKey key = rsa_key(2048, 3);
    auto fast = MultiPrimeSigner::make(key.get());
    ASSERT_TRUE(fast);
    std::vector<std::string> digests = {std::string(32, '\0'), std::string(32, '\xff')};
    for (int i = 0; i < 500; ++i) digests.push_back(random_digest());
    for (const auto& d : digests) {
      std::string sig = fast->sign_sha256(d);
      ASSERT_EQ(sig.size(), 256u);
      ASSERT_EQ(sig, openssl_sign(key.get(), d)) << "key " << k;
    }
  }
}

TEST(MultiPrimeSigner, ImportedKeysWithUnevenPrimes) {
  if (!MultiPrimeSigner::enabled()) GTEST_SKIP() << "no AVX-512 IFMA on this CPU (or SESAME_RSA_IFMA=0)";
  // Up to the largest prime the limbs allow (725 bits: 4p < 2^728), with the others short.
  PKey uneven = key_from_primes(725, 700, 623);
  auto fast = MultiPrimeSigner::make(uneven.get());
  ASSERT_TRUE(fast);
  for (int i = 0; i < 200; ++i) {
    const std::string d = random_digest();
    ASSERT_EQ(fast->sign_sha256(d), openssl_sign(uneven.get(), d));
  }
  // One bit more and the key is OpenSSL's to sign.
  EXPECT_FALSE(MultiPrimeSigner::make(key_from_primes(726, 700, 622).get()));
  // A key whose parameters do not fit together is refused at set-up and left to OpenSSL: no
  // wrong signature comes from this path.
  EXPECT_FALSE(MultiPrimeSigner::make(key_from_primes(683, 683, 682, true).get()));
}

TEST(MultiPrimeSigner, OnlyForThreePrimeRsa2048) {
  if (!MultiPrimeSigner::enabled()) GTEST_SKIP() << "no AVX-512 IFMA on this CPU (or SESAME_RSA_IFMA=0)";
  EXPECT_FALSE(MultiPrimeSigner::make(rsa_key(2048, 2).get()));
  EXPECT_FALSE(MultiPrimeSigner::make(rsa_key(1024, 3).get()));
  EXPECT_FALSE(MultiPrimeSigner::make(rsa_key(3072, 3).get()));
  PKey ec(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  EXPECT_FALSE(MultiPrimeSigner::make(ec.get()));
  EXPECT_FALSE(MultiPrimeSigner::make(nullptr));
  PKey key = rsa_key(2048, 3);
  auto fast = MultiPrimeSigner::make(key.get());
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->sign_sha256(""), "");  // not a SHA-256 digest
  EXPECT_EQ(fast->sign_sha256(std::string(33, 'x')), "");
  EXPECT_EQ(fast->sign_sha256(std::string(32, 'x')).size(), 256u);
}

class EasyDkimKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sesame-mp-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    keys_ = std::make_unique<KeyStore>(dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::unique_ptr<KeyStore> keys_;
};

TEST_F(EasyDkimKeys, Rsa2048KeysHaveThreePrimesAndSignOnEveryThread) {
  auto pub = keys_->generate("111111111111", "us-east-1", "example.com", "k2048", 2048);
  ASSERT_TRUE(pub.ok());
  auto small = keys_->generate("111111111111", "us-east-1", "example.com", "k1024", 1024);
  ASSERT_TRUE(small.ok());
  auto loaded = keys_->load(KeyRef{"111111111111", "us-east-1", "example.com", "k2048"});
  ASSERT_TRUE(loaded.ok());
  // The key file keeps all three primes (PKCS#8 around a multi-prime RSAPrivateKey).
  BIGNUM* third = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(loaded.value()->get(), OSSL_PKEY_PARAM_RSA_FACTOR3, &third), 1);
  BN_free(third);
  EXPECT_EQ(EVP_PKEY_get_bits(loaded.value()->get()), 2048);
  if (MultiPrimeSigner::enabled()) {
    EXPECT_TRUE(MultiPrimeSigner::make(loaded.value()->get()));  // the fast path
  }

  Signer signer(*keys_);
  const std::string msg =
      "From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n";
  auto sign = [&](const std::string& key_id) {
    SignOptions o{"example.com", "sel", 1705320000};
    auto sig = signer.sign(msg, KeyRef{"111111111111", "us-east-1", "example.com", key_id}, o);
    EXPECT_TRUE(sig.ok());
    return sig.ok() ? sig.value() + msg : std::string();
  };
  std::vector<std::string> out(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&, t] { out[t] = sign("k2048"); });
  for (auto& t : threads) t.join();
  std::string why;
  for (const auto& m : out) {
    EXPECT_EQ(m, out[0]);  // deterministic, whichever thread's signer made it
    EXPECT_EQ(verify_with_key(m, pub.value(), &why), VerifyResult::kPass) << why;
  }
  EXPECT_EQ(verify_with_key(sign("k1024"), small.value(), &why), VerifyResult::kPass) << why;
}

TEST_F(EasyDkimKeys, ImportRefusesAKeyWhoseParametersDoNotFit) {
  auto der_b64 = [](EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int len = i2d_PrivateKey(key, &der);
    EXPECT_GT(len, 0);
    std::string out = base::base64_encode(std::string(reinterpret_cast<const char*>(der), std::size_t(len)));
    OPENSSL_free(der);
    return out;
  };
  // BYODKIM with a 3-prime key with uneven primes: imported, verified, and on the fast path.
  auto pub =
      keys_->import("111111111111", "us-east-1", "example.org", "byo", der_b64(key_from_primes(725, 700, 623).get()));
  ASSERT_TRUE(pub.ok()) << pub.error().message;
  auto loaded = keys_->load(KeyRef{"111111111111", "us-east-1", "example.org", "byo"});
  ASSERT_TRUE(loaded.ok());
  if (MultiPrimeSigner::enabled()) {
    EXPECT_TRUE(MultiPrimeSigner::make(loaded.value()->get()));
  }
  Signer signer(*keys_);
  const std::string msg = "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nbody\r\n";
  auto sig = signer.sign(msg, KeyRef{"111111111111", "us-east-1", "example.org", "byo"},
                         SignOptions{"example.org", "sel", 1705320000});
  ASSERT_TRUE(sig.ok());
  std::string why;
  EXPECT_EQ(verify_with_key(sig.value() + msg, pub.value(), &why), VerifyResult::kPass) << why;

  // The same shape with a spoiled coefficient: refused as invalid, nothing written.
  auto bad = keys_->import("111111111111", "us-east-1", "example.org", "bad",
                           der_b64(key_from_primes(683, 683, 682, true).get()));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, base::ErrorCode::kInvalidParameter);
  EXPECT_FALSE(keys_->load(KeyRef{"111111111111", "us-east-1", "example.org", "bad"}).ok());
}

}  // namespace
}  // namespace sesame::mailauth::dkim
