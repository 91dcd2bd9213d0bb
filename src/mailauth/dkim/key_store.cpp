// DKIM key generation and storage with OpenSSL 3 EVP; see key_store.hpp.
#include "mailauth/dkim/key_store.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "base/encoding.hpp"
#include "mailauth/dkim/private_key.hpp"

namespace sesame::mailauth::dkim {
namespace {
using base::ErrorCode;
using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

base::Result<std::string> public_b64(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return base::make_error(ErrorCode::kInternal, "cannot encode DKIM public key");
  std::string out = base::base64_encode(std::string_view(reinterpret_cast<char*>(der), std::size_t(len)));
  OPENSSL_free(der);
  return out;
}

base::Result<std::string> private_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return base::make_error(ErrorCode::kInternal, "cannot encode DKIM private key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, std::size_t(n));
}

/// A new RSA key. 2048-bit keys get three primes (RFC 8017 §3.2; OpenSSL's most for that
/// size): verifiers see the same public key, factoring the modulus stays the cheapest attack
/// (ECM against ~683-bit primes costs far more), and signing costs about half as much
/// (rsa_multiprime.hpp; OpenSSL alone is also a little faster with it on CPUs without
/// AVX-512 IFMA). 1024-bit keys keep two primes.
EVP_PKEY* generate_rsa(int bits) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr),
                                                                  &EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      (bits >= 2048 && EVP_PKEY_CTX_set_rsa_keygen_primes(ctx.get(), 3) != 1) || EVP_PKEY_keygen(ctx.get(), &key) != 1)
    return nullptr;
  return key;
}

std::string safe(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back((std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_');
  return out;
}
}  // namespace

KeyStore::KeyStore(std::string directory) : dir_(std::move(directory)) {}

std::string KeyStore::path_for(const std::string& account, const std::string& region, const std::string& domain,
                               const std::string& key_id) const {
  return dir_ + "/" + safe(account) + "/" + safe(region) + "/" + safe(domain) + "." + safe(key_id) + ".pem";
}

base::Status KeyStore::write_private(const std::string& path, const std::string& pem) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return base::make_error(ErrorCode::kInternal, "cannot create " + dir_ + ": " + ec.message());
  for (auto p = std::filesystem::path(path).parent_path(); p.string().size() >= dir_.size(); p = p.parent_path()) {
    ::chmod(p.c_str(), 0700);
    if (p.string() == dir_) break;
  }
  std::string tmp = path + ".XXXXXX";  // unique: concurrent imports never share a temp file
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return base::make_error(ErrorCode::kInternal, "cannot write DKIM key file " + path);
  ::fchmod(fd, 0600);
  bool ok = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return base::make_error(ErrorCode::kInternal, "cannot write DKIM key file " + path);
  }
  return base::ok_status();
}

base::Result<std::string> KeyStore::generate(const std::string& account, const std::string& region,
                                             const std::string& domain, const std::string& key_id, int bits) {
  PKey key(generate_rsa(bits), &EVP_PKEY_free);
  if (!key) return base::make_error(ErrorCode::kInternal, "RSA key generation failed");
  SESAME_ASSIGN(auto pem, private_pem(key.get()));
  SESAME_CHECK(write_private(path_for(account, region, domain, key_id), pem));
  return public_b64(key.get());
}

base::Result<std::string> KeyStore::import(const std::string& account, const std::string& region,
                                           const std::string& domain, const std::string& key_id,
                                           const std::string& private_key) {
  auto bad = base::make_error(ErrorCode::kInvalidParameter, "Invalid DKIM signing private key.");
  if (private_key.size() > 16384) return bad;
  EVP_PKEY* raw = nullptr;
  if (private_key.find("-----BEGIN") != std::string::npos) {
    Bio bio(BIO_new_mem_buf(private_key.data(), int(private_key.size())), &BIO_free);
    // A passphrase callback that refuses: an encrypted key is invalid input, and OpenSSL's
    // default callback would prompt on the server's terminal.
    raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  } else {
    auto der = base::base64_decode(private_key);
    if (!der) return bad;
    const auto* p = reinterpret_cast<const unsigned char*>(der->data());
    raw = d2i_AutoPrivateKey(nullptr, &p, long(der->size()));
  }
  PKey key(raw, &EVP_PKEY_free);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return bad;
  int bits = EVP_PKEY_get_bits(key.get());
  if (bits < 1024 || bits > 2048) return base::make_error(ErrorCode::kInvalidParameter, "DKIM keys must be RSA 1024 or 2048 bits.");
  // A key whose parts do not fit together (the primes, the exponents, the CRT coefficients)
  // would still sign, but no receiver could verify what it signs.
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> check(EVP_PKEY_CTX_new(key.get(), nullptr),
                                                                    &EVP_PKEY_CTX_free);
  const bool consistent = check && EVP_PKEY_check(check.get()) == 1;
  ERR_clear_error();
  if (!consistent) return bad;
  SESAME_ASSIGN(auto pem, private_pem(key.get()));
  SESAME_CHECK(write_private(path_for(account, region, domain, key_id), pem));
  return public_b64(key.get());
}

base::Result<std::shared_ptr<const PrivateKey>> KeyStore::load(const KeyRef& ref) const {
  std::string path = path_for(ref.account, ref.region, ref.domain, ref.key_id);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), &BIO_free);
  if (!bio) return base::make_error(ErrorCode::kNotFound, "DKIM key file " + path + " is missing", "dkim-key");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  if (!key) return base::make_error(ErrorCode::kInternal, "DKIM key file " + path + " is unreadable");
  return std::shared_ptr<const PrivateKey>(std::make_shared<PrivateKey>(key));
}

void KeyStore::remove(const std::string& account, const std::string& region, const std::string& domain,
                      const std::string& key_id) {
  ::unlink(path_for(account, region, domain, key_id).c_str());
}

}  // namespace sesame::mailauth::dkim
