// A self-signed certificate for the SMTP listeners when the operator configured none
// ([tls] cert_file/key_file); see smtp_listener.hpp.
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "net/smtp_listener.hpp"

namespace sesame::net {
namespace {
template <class T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Free<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, decltype([](BIO* b) { BIO_free_all(b); })>;

base::Error failure(const std::string& what) {
  return base::make_error(base::ErrorCode::kInternal, "cannot create a self-signed certificate: " + what);
}

/// Writes `pem` to `path` created with `mode` (never over an existing file).
base::Status write_new(const std::string& path, const std::string& pem, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return failure("cannot create " + path);
  ssize_t n = ::write(fd, pem.data(), pem.size());
  bool ok = n == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return failure("cannot write " + path);
  return base::ok_status();
}

std::string pem_of(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}
}  // namespace

base::Status ensure_self_signed(const std::string& cert_file, const std::string& key_file, const std::string& hostname,
                                bool rsa) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(cert_file, ec) && fs::exists(key_file, ec)) return base::ok_status();
  Key key(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
  if (!key) return failure("key generation");
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return failure("random serial");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::string san = "DNS:" + hostname;
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san.c_str()}, std::pair{NID_basic_constraints, "critical,CA:FALSE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) return failure("extension");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return failure("signing");
  Bio kb(BIO_new(BIO_s_mem())), cb(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ||
      !PEM_write_bio_X509(cb.get(), cert.get()))
    return failure("PEM encoding");
  fs::remove(cert_file, ec);
  fs::remove(key_file, ec);
  SESAME_CHECK(write_new(key_file, pem_of(kb.get()), 0600));  // the private key: owner only
  return write_new(cert_file, pem_of(cb.get()), 0644);
}

}  // namespace sesame::net
