// Test helper for tests/e2e/test_dkim_interop.py: generates a DKIM key in a KeyStore
// directory ("generate DIR DOMAIN KEYID" prints the public key) or signs stdin with it
// ("sign DIR DOMAIN KEYID SELECTOR" prints the signed message).
#include <iostream>
#include <iterator>
#include <string>

#include "mailauth/dkim/signer.hpp"

int main(int argc, char** argv) {
  using namespace sesame::mailauth::dkim;
  if (argc < 5) return 2;
  std::string cmd = argv[1];
  KeyStore keys(argv[2]);
  KeyRef ref{"111111111111", "us-east-1", argv[3], argv[4]};
  if (cmd == "generate") {
    auto pub = keys.generate(ref.account, ref.region, ref.domain, ref.key_id, 2048);
    if (!pub.ok()) return 1;
    std::cout << pub.value() << "\n";
    return 0;
  }
  if (cmd == "sign" && argc >= 6) {
    std::string msg((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    Signer signer(keys);
    SignOptions o;
    o.domain = ref.domain;
    o.selector = argv[5];
    o.now = 1705320000;
    auto sig = signer.sign(msg, ref, o);
    if (!sig.ok()) {
      std::cerr << sig.error().message << "\n";
      return 1;
    }
    std::cout << sig.value() << msg;
    return 0;
  }
  return 2;
}
