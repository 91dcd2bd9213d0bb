// 3-prime RSA-2048 signing with AVX-512 IFMA; see rsa_multiprime.hpp.
//
// Numbers modulo each prime are 14 limbs of 52 bits (728 bits, room for values below twice
// a ~683-bit prime), and a vector holds one limb of each of the three primes' numbers (the
// fourth lane idles). The multiplication is Montgomery's, in the "almost" form of OpenSSL's
// rsaz code: inputs and outputs below 2p, with R = 2^728 > 4p, so no subtraction is needed
// between steps. vpmadd52luq/vpmadd52huq give the low and high 52 bits of 52x52-bit
// products, added into 64-bit accumulators: one could take ~4,000 such terms before it
// overflowed, and none receives more than ~60 (a row adds at most four to each).
//
// Only the functions marked SESAME_IFMA use AVX-512, and only after MultiPrimeSigner::make
// has checked the CPU; no vector type crosses into code built without it.
#include "mailauth/dkim/rsa_multiprime.hpp"

#include <immintrin.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rsa.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#define SESAME_IFMA __attribute__((target("avx2,avx512f,avx512vl,avx512ifma")))
#define SESAME_IFMA_INLINE __attribute__((target("avx2,avx512f,avx512vl,avx512ifma"), always_inline)) inline

namespace sesame::mailauth::dkim {
namespace {

constexpr int kLimbs = 14;  // 14 x 52 = 728 bits
constexpr int kLanes = 4;   // three primes, one idle lane
constexpr int kPrimes = 3;
constexpr int kWindow = 5;  // fixed window: 2^5 table entries
constexpr int kTable = 1 << kWindow;
constexpr int kExpWords = 13;                   // 728 bits of exponent and a word for the window that straddles
constexpr int kMaxPrimeBits = 52 * kLimbs - 3;  // 4p < R for the almost-Montgomery bounds
constexpr std::uint64_t kMask52 = (std::uint64_t{1} << 52) - 1;
constexpr int kModulusBytes = 256;

/// One limb of each lane's number per row: w[limb][lane].
struct alignas(32) Lanes {
  std::uint64_t w[kLimbs][kLanes];
};

// --- the vector kernel -------------------------------------------------------------------

SESAME_IFMA_INLINE __m256i load(const std::uint64_t* p) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
}

/// The same pointer, but the compiler cannot tell: each row then reads its operands from
/// memory (as operands of the multiplications) instead of keeping all 28 limbs of a and m in
/// registers, which left too few for the accumulators and made it spill them.
template <class T>
SESAME_IFMA_INLINE const T& fresh(const T& x) {
  const T* p = &x;
  asm("" : "+r"(p));
  return *p;
}

/// Row I of the product: adds a * b[I] and q * m, q chosen so the lowest live limb becomes
/// zero, and moves that limb's carry up. t[I] is dead after it.
template <int I, int... J>
SESAME_IFMA_INLINE void amm_row(__m256i (&t)[2 * kLimbs + 1], const Lanes& a_in, const Lanes& m_in, __m256i bi,
                                __m256i k0, std::integer_sequence<int, J...>) {
  const Lanes& a = fresh(a_in);
  const Lanes& m = fresh(m_in);
  ((t[I + J] = _mm256_madd52lo_epu64(t[I + J], load(a.w[J]), bi)), ...);
  const __m256i q = _mm256_madd52lo_epu64(_mm256_setzero_si256(), t[I], k0);
  ((t[I + J + 1] = _mm256_madd52hi_epu64(t[I + J + 1], load(a.w[J]), bi)), ...);
  ((t[I + J] = _mm256_madd52lo_epu64(t[I + J], load(m.w[J]), q)), ...);
  ((t[I + J + 1] = _mm256_madd52hi_epu64(t[I + J + 1], load(m.w[J]), q)), ...);
  t[I + 1] = _mm256_add_epi64(t[I + 1], _mm256_srli_epi64(t[I], 52));
}

template <int... I>
SESAME_IFMA_INLINE void amm_rows(__m256i (&t)[2 * kLimbs + 1], const Lanes& a, const Lanes& b, const Lanes& m,
                                 __m256i k0, std::integer_sequence<int, I...> seq) {
  (amm_row<I>(t, a, m, load(b.w[I]), k0, seq), ...);
}

/// Carries the upper half back into 52-bit limbs: the result.
template <int... J>
SESAME_IFMA_INLINE void amm_normalize(Lanes& r, __m256i (&t)[2 * kLimbs + 1], std::integer_sequence<int, J...>) {
  const __m256i mask = _mm256_set1_epi64x(static_cast<long long>(kMask52));
  __m256i carry = _mm256_setzero_si256();
  ((t[kLimbs + J] = _mm256_add_epi64(t[kLimbs + J], carry), carry = _mm256_srli_epi64(t[kLimbs + J], 52),
    _mm256_store_si256(reinterpret_cast<__m256i*>(r.w[J]), _mm256_and_si256(t[kLimbs + J], mask))),
   ...);
}

/// r = a * b / R mod m, per lane, for a, b < 2m; r < 2m. The template expansion gives the
/// compiler named accumulators (a loop over an array made it spill them).
SESAME_IFMA void amm(Lanes& r, const Lanes& a, const Lanes& b, const Lanes& m, const std::uint64_t* k0) {
  __m256i t[2 * kLimbs + 1];
  for (auto& x : t) x = _mm256_setzero_si256();
  amm_rows(t, a, b, m, load(k0), std::make_integer_sequence<int, kLimbs>{});
  amm_normalize(r, t, std::make_integer_sequence<int, kLimbs>{});
}

/// Squaring: each cross product a_i a_j (i < j) once, all of them doubled, then the
/// squares a_i^2, then the Montgomery reduction row by row: ~600 multiplications where amm
/// does ~800. Four of every five multiplications in an exponentiation are squarings.
template <int I, int J>
SESAME_IFMA_INLINE void sqr_cross(__m256i (&t)[2 * kLimbs + 1], const Lanes& a, __m256i ai) {
  if constexpr (J > I) {
    t[I + J] = _mm256_madd52lo_epu64(t[I + J], load(a.w[J]), ai);
    t[I + J + 1] = _mm256_madd52hi_epu64(t[I + J + 1], load(a.w[J]), ai);
  }
}

template <int I, int... J>
SESAME_IFMA_INLINE void sqr_row(__m256i (&t)[2 * kLimbs + 1], const Lanes& a_in, std::integer_sequence<int, J...>) {
  const Lanes& a = fresh(a_in);
  const __m256i ai = load(a.w[I]);
  (sqr_cross<I, J>(t, a, ai), ...);
}

template <int I, int... J>
SESAME_IFMA_INLINE void reduce_row(__m256i (&t)[2 * kLimbs + 1], const Lanes& m_in, __m256i k0,
                                   std::integer_sequence<int, J...>) {
  const Lanes& m = fresh(m_in);
  const __m256i q = _mm256_madd52lo_epu64(_mm256_setzero_si256(), t[I], k0);
  ((t[I + J] = _mm256_madd52lo_epu64(t[I + J], load(m.w[J]), q)), ...);
  ((t[I + J + 1] = _mm256_madd52hi_epu64(t[I + J + 1], load(m.w[J]), q)), ...);
  t[I + 1] = _mm256_add_epi64(t[I + 1], _mm256_srli_epi64(t[I], 52));
}

template <int... I>
SESAME_IFMA_INLINE void sqr_all(__m256i (&t)[2 * kLimbs + 1], const Lanes& a, const Lanes& m, __m256i k0,
                                std::integer_sequence<int, I...> seq) {
  (sqr_row<I>(t, a, seq), ...);
  ((t[2 * I] = _mm256_add_epi64(t[2 * I], t[2 * I]), t[2 * I + 1] = _mm256_add_epi64(t[2 * I + 1], t[2 * I + 1])), ...);
  ((t[2 * I] = _mm256_madd52lo_epu64(t[2 * I], load(a.w[I]), load(a.w[I])),
    t[2 * I + 1] = _mm256_madd52hi_epu64(t[2 * I + 1], load(a.w[I]), load(a.w[I]))),
   ...);
  (reduce_row<I>(t, m, k0, seq), ...);
}

/// r = a * a / R mod m, per lane, for a < 2m; r < 2m.
SESAME_IFMA void ams(Lanes& r, const Lanes& a, const Lanes& m, const std::uint64_t* k0) {
  __m256i t[2 * kLimbs + 1];
  for (auto& x : t) x = _mm256_setzero_si256();
  sqr_all(t, a, m, load(k0), std::make_integer_sequence<int, kLimbs>{});
  amm_normalize(r, t, std::make_integer_sequence<int, kLimbs>{});
}

/// r = table[idx[lane]] per lane, reading every entry (no secret-dependent address). The
/// limbs are named accumulators again, 14 independent blend chains.
template <int... J>
SESAME_IFMA_INLINE void select_limbs(Lanes& r, const Lanes* table, __m256i want, std::integer_sequence<int, J...>) {
  __m256i acc[kLimbs];
  ((acc[J] = _mm256_setzero_si256()), ...);
  for (int k = 0; k < kTable; ++k) {
    const __mmask8 hit = _mm256_cmpeq_epi64_mask(want, _mm256_set1_epi64x(k));
    ((acc[J] = _mm256_mask_blend_epi64(hit, acc[J], load(table[k].w[J]))), ...);
  }
  (_mm256_store_si256(reinterpret_cast<__m256i*>(r.w[J]), acc[J]), ...);
}

SESAME_IFMA void select(Lanes& r, const Lanes* table, const std::uint64_t* idx) {
  select_limbs(r, table, load(idx), std::make_integer_sequence<int, kLimbs>{});
}

}  // namespace

struct MultiPrimeSigner::State {
  // Per-lane constants for the kernel.
  Lanes modulus{}, rr{}, one{};
  alignas(32) std::uint64_t k0[kLanes] = {};
  std::uint64_t exponent[kLanes][kExpWords] = {};  // d mod (p-1), little-endian words
  int exponent_bits = 0;
  Lanes table[kTable]{};
  // The key as OpenSSL numbers, for reduction, recombination, blinding and the check.
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  BIGNUM* prime[kPrimes] = {};
  BIGNUM* coefficient[kPrimes - 1] = {};  // q^-1 mod p; (pq)^-1 mod r (RFC 8017 t_3)
  BIGNUM* pq = nullptr;
  BN_MONT_CTX* mont_n = nullptr;
  BN_BLINDING* blinding = nullptr;
  BN_CTX* ctx = nullptr;

  ~State() {
    // The moduli are the primes, and R^2 mod p gives p away too (gcd with n).
    OPENSSL_cleanse(&modulus, sizeof modulus);
    OPENSSL_cleanse(&rr, sizeof rr);
    OPENSSL_cleanse(k0, sizeof k0);
    OPENSSL_cleanse(exponent, sizeof exponent);
    OPENSSL_cleanse(table, sizeof table);
    for (auto* p : prime) BN_clear_free(p);
    for (auto* c : coefficient) BN_clear_free(c);
    BN_clear_free(pq);
    BN_free(n);
    BN_free(e);
    BN_MONT_CTX_free(mont_n);
    BN_BLINDING_free(blinding);
    BN_CTX_free(ctx);
  }
};

namespace {

/// x (below 2^768) into one lane of 52-bit limbs.
void to_lane(const BIGNUM* x, Lanes& out, int lane) {
  unsigned char buf[104] = {};
  BN_bn2lebinpad(x, buf, 96);
  for (int j = 0; j < kLimbs; ++j) {
    std::uint64_t word;
    std::memcpy(&word, buf + 52 * j / 8, 8);
    out.w[j][lane] = (word >> (52 * j % 8)) & kMask52;
  }
  OPENSSL_cleanse(buf, sizeof buf);
}

/// One lane of normalized 52-bit limbs back into a number.
bool from_lane(const Lanes& in, int lane, BIGNUM* out) {
  unsigned char buf[104] = {};
  for (int j = 0; j < kLimbs; ++j) {
    std::uint64_t word;
    std::memcpy(&word, buf + 52 * j / 8, 8);
    word |= in.w[j][lane] << (52 * j % 8);
    std::memcpy(buf + 52 * j / 8, &word, 8);
  }
  bool ok = BN_lebin2bn(buf, 96, out) != nullptr;
  OPENSSL_cleanse(buf, sizeof buf);
  return ok;
}

/// -m^-1 mod 2^52 for odd m (Newton's iteration doubles the correct bits each step).
std::uint64_t neg_inverse52(std::uint64_t m0) {
  std::uint64_t x = 1;
  for (int i = 0; i < 6; ++i) x *= 2 - m0 * x;
  return (0 - x) & kMask52;
}

/// x = x^exponent mod modulus, per lane; x below the modulus in, at most the modulus out.
SESAME_IFMA void modexp(MultiPrimeSigner::State& s, Lanes& x) {
  Lanes acc, entry;
  amm(s.table[0], s.one, s.rr, s.modulus, s.k0);  // 1 in Montgomery form: R mod p
  amm(s.table[1], x, s.rr, s.modulus, s.k0);      // x R mod p
  for (int k = 2; k < kTable; ++k) amm(s.table[k], s.table[k - 1], s.table[1], s.modulus, s.k0);
  alignas(32) std::uint64_t idx[kLanes];
  auto window = [&](int w) {
    const int bit = w * kWindow;
    for (int lane = 0; lane < kLanes; ++lane) {
      const std::uint64_t* e = s.exponent[lane];
      std::uint64_t v = e[bit / 64] >> (bit % 64);
      if (bit % 64 > 64 - kWindow) v |= e[bit / 64 + 1] << (64 - bit % 64);
      idx[lane] = v & (kTable - 1);
    }
  };
  const int windows = (s.exponent_bits + kWindow - 1) / kWindow;
  window(windows - 1);
  select(acc, s.table, idx);
  for (int w = windows - 2; w >= 0; --w) {
    for (int i = 0; i < kWindow; ++i) ams(acc, acc, s.modulus, s.k0);
    window(w);
    select(entry, s.table, idx);
    amm(acc, acc, entry, s.modulus, s.k0);
  }
  amm(x, acc, s.one, s.modulus, s.k0);  // out of Montgomery form
  OPENSSL_cleanse(idx, sizeof idx);     // the exponent's last window
  OPENSSL_cleanse(&acc, sizeof acc);
  OPENSSL_cleanse(&entry, sizeof entry);
}

BIGNUM* param(const EVP_PKEY* key, const char* name) {
  BIGNUM* out = nullptr;
  return EVP_PKEY_get_bn_param(key, name, &out) == 1 ? out : nullptr;
}

// EMSA-PKCS1-v1_5 (RFC 8017 §9.2, note 1): the DER prefix of a SHA-256 DigestInfo.
constexpr unsigned char kSha256DigestInfo[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                               0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

}  // namespace

namespace {
std::atomic<bool> g_disabled{false};
}  // namespace

void MultiPrimeSigner::disable() { g_disabled.store(true, std::memory_order_relaxed); }

bool MultiPrimeSigner::enabled() {
  if (g_disabled.load(std::memory_order_relaxed)) return false;
  static const bool on = [] {
    const char* env = std::getenv("SESAME_RSA_IFMA");
    if (env && std::strcmp(env, "0") == 0) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512ifma") && __builtin_cpu_supports("avx512vl");
  }();
  return on;
}

MultiPrimeSigner::MultiPrimeSigner(std::unique_ptr<State> s) : s_(std::move(s)) {}
MultiPrimeSigner::~MultiPrimeSigner() = default;

std::unique_ptr<MultiPrimeSigner> MultiPrimeSigner::make(const EVP_PKEY* key) {
  if (!enabled() || !key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) != 8 * kModulusBytes)
    return nullptr;
  if (BIGNUM* fourth = param(key, "rsa-factor4")) {  // more primes than the lanes
    BN_clear_free(fourth);
    return nullptr;
  }
  auto s = std::make_unique<State>();
  const char* primes[kPrimes] = {OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_FACTOR3};
  const char* exponents[kPrimes] = {OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
                                    OSSL_PKEY_PARAM_RSA_EXPONENT3};
  s->n = param(key, OSSL_PKEY_PARAM_RSA_N);
  s->e = param(key, OSSL_PKEY_PARAM_RSA_E);
  s->coefficient[0] = param(key, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
  s->coefficient[1] = param(key, OSSL_PKEY_PARAM_RSA_COEFFICIENT2);
  s->ctx = BN_CTX_new();
  s->pq = BN_new();
  s->mont_n = BN_MONT_CTX_new();
  std::unique_ptr<BIGNUM, decltype(&BN_clear_free)> rr_owner(BN_new(), &BN_clear_free);
  BIGNUM* rr = rr_owner.get();
  std::unique_ptr<BIGNUM, decltype(&BN_clear_free)> tmp_owner(BN_new(), &BN_clear_free);
  BIGNUM* tmp = tmp_owner.get();
  if (!s->n || !s->e || !s->coefficient[0] || !s->coefficient[1] || !s->ctx || !s->pq || !s->mont_n || !rr || !tmp ||
      BN_is_negative(s->n) || BN_is_negative(s->e) || BN_is_negative(s->coefficient[0]) ||
      BN_is_negative(s->coefficient[1]))
    return nullptr;
  // An imported key's parameters are checked before use (cheap next to the set-up below),
  // and each d_i must invert e modulo p_i - 1.
  for (int i = 0; i < kPrimes; ++i) {
    s->prime[i] = param(key, primes[i]);
    BIGNUM* d = param(key, exponents[i]);
    bool ok = s->prime[i] && d && !BN_is_negative(s->prime[i]) && !BN_is_negative(d) && BN_is_odd(s->prime[i]) &&
              BN_num_bits(s->prime[i]) > 1 && BN_num_bits(s->prime[i]) <= kMaxPrimeBits &&
              BN_num_bits(d) <= BN_num_bits(s->prime[i]) && BN_sub(tmp, s->prime[i], BN_value_one()) == 1 &&
              BN_mod_mul(rr, s->e, d, tmp, s->ctx) == 1 && BN_is_one(rr);
    if (ok) {
      BN_set_flags(s->prime[i], BN_FLG_CONSTTIME);
      unsigned char buf[8 * kExpWords] = {};
      ok = BN_bn2lebinpad(d, buf, sizeof buf) == int(sizeof buf);
      std::memcpy(s->exponent[i], buf, sizeof buf);  // little-endian words on x86-64
      OPENSSL_cleanse(buf, sizeof buf);
    }
    BN_clear_free(d);
    // R^2 mod p, for moving into Montgomery form.
    BN_zero(rr);
    ok = ok && BN_set_bit(rr, 2 * 52 * kLimbs) == 1 && BN_mod(rr, rr, s->prime[i], s->ctx) == 1;
    if (!ok) return nullptr;
    to_lane(s->prime[i], s->modulus, i);
    to_lane(rr, s->rr, i);
    s->one.w[0][i] = 1;
    s->k0[i] = neg_inverse52(s->modulus.w[0][i]);
    if (BN_num_bits(s->prime[i]) > s->exponent_bits) s->exponent_bits = BN_num_bits(s->prime[i]);
  }
  // The idle lane works modulo the first prime with exponent 0.
  for (int j = 0; j < kLimbs; ++j) {
    s->modulus.w[j][kPrimes] = s->modulus.w[j][0];
    s->rr.w[j][kPrimes] = s->rr.w[j][0];
  }
  s->one.w[0][kPrimes] = 1;
  s->k0[kPrimes] = s->k0[0];
  // The primes must make n, and the coefficients invert what RFC 8017 says they invert.
  if (BN_mul(s->pq, s->prime[0], s->prime[1], s->ctx) != 1 || BN_mul(rr, s->pq, s->prime[2], s->ctx) != 1 ||
      BN_cmp(rr, s->n) != 0 || BN_mod_mul(tmp, s->coefficient[0], s->prime[1], s->prime[0], s->ctx) != 1 ||
      !BN_is_one(tmp) || BN_mod_mul(tmp, s->coefficient[1], s->pq, s->prime[2], s->ctx) != 1 || !BN_is_one(tmp) ||
      BN_MONT_CTX_set(s->mont_n, s->n, s->ctx) != 1)
    return nullptr;
  s->blinding = BN_BLINDING_create_param(nullptr, s->e, s->n, s->ctx, BN_mod_exp_mont, s->mont_n);
  if (!s->blinding) return nullptr;
  auto signer = std::unique_ptr<MultiPrimeSigner>(new MultiPrimeSigner(std::move(s)));
  // A self-check before first use: the signature of a fixed digest must pass the check with
  // the public exponent.
  if (signer->sign_sha256(std::string(32, '\x5a')).empty()) return nullptr;
  return signer;
}

std::string MultiPrimeSigner::sign_sha256(std::string_view digest) {
  if (digest.size() != 32) return {};
  State& s = *s_;
  // EM = 0x00 0x01 FF..FF 0x00 DigestInfo digest (RFC 8017 §9.2).
  unsigned char em[kModulusBytes];
  const std::size_t tail = sizeof kSha256DigestInfo + digest.size();
  std::memset(em, 0xff, sizeof em);
  em[0] = 0x00;
  em[1] = 0x01;
  em[kModulusBytes - tail - 1] = 0x00;
  std::memcpy(em + kModulusBytes - tail, kSha256DigestInfo, sizeof kSha256DigestInfo);
  std::memcpy(em + kModulusBytes - digest.size(), digest.data(), digest.size());

  BN_CTX_start(s.ctx);
  struct End {
    BN_CTX* ctx;
    ~End() { BN_CTX_end(ctx); }
  } end{s.ctx};
  BIGNUM* m = BN_CTX_get(s.ctx);
  BIGNUM* c = BN_CTX_get(s.ctx);
  BIGNUM* unblind = BN_CTX_get(s.ctx);
  BIGNUM* h = BN_CTX_get(s.ctx);
  BIGNUM* sig = BN_CTX_get(s.ctx);  // public once made: without BN_FLG_CONSTTIME, whose
                                    // exponentiation would make the check cost a signature
  BIGNUM* part[kPrimes] = {BN_CTX_get(s.ctx), BN_CTX_get(s.ctx), BN_CTX_get(s.ctx)};
  if (!part[kPrimes - 1] || !BN_bin2bn(em, sizeof em, m) || !BN_copy(c, m) ||
      BN_BLINDING_convert_ex(c, unblind, s.blinding, s.ctx) != 1)
    return {};
  BN_set_flags(c, BN_FLG_CONSTTIME);

  // c mod each prime, exponentiated side by side.
  Lanes x{};
  struct Wipe {
    Lanes& x;
    ~Wipe() { OPENSSL_cleanse(&x, sizeof x); }
  } wipe{x};
  for (int i = 0; i < kPrimes; ++i) {
    if (BN_mod(part[i], c, s.prime[i], s.ctx) != 1) return {};
    to_lane(part[i], x, i);
  }
  modexp(s, x);
  for (int i = 0; i < kPrimes; ++i)
    if (!from_lane(x, i, part[i]) || BN_mod(part[i], part[i], s.prime[i], s.ctx) != 1) return {};

  // Recombination (RFC 8017 §5.1.2, 2.b): s = s2 + q ((s1 - s2) qInv mod p), then
  // s += pq ((s3 - s) t3 mod r).
  bool ok = BN_mod_sub(h, part[0], part[1], s.prime[0], s.ctx) == 1 &&
            BN_mod_mul(h, h, s.coefficient[0], s.prime[0], s.ctx) == 1 && BN_mul(h, h, s.prime[1], s.ctx) == 1 &&
            BN_add(sig, part[1], h) == 1 && BN_mod_sub(h, part[2], sig, s.prime[2], s.ctx) == 1 &&
            BN_mod_mul(h, h, s.coefficient[1], s.prime[2], s.ctx) == 1 && BN_mul(h, h, s.pq, s.ctx) == 1 &&
            BN_add(sig, sig, h) == 1 && BN_BLINDING_invert_ex(sig, unblind, s.blinding, s.ctx) == 1;
  // The check with the public exponent: a wrong signature never leaves (RSA CRT faults).
  ok = ok && BN_mod_exp_mont(h, sig, s.e, s.n, s.ctx, s.mont_n) == 1 && BN_cmp(h, m) == 0;
  for (auto* p : part) BN_clear(p);
  if (!ok) return {};
  std::string out(kModulusBytes, '\0');
  if (BN_bn2binpad(sig, reinterpret_cast<unsigned char*>(out.data()), kModulusBytes) != kModulusBytes) return {};
  return out;
}

}  // namespace sesame::mailauth::dkim
