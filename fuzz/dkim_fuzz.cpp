// Fuzz target: DKIM tag-list parsing and signature verification of an arbitrary message
// (header splitting, both canonicalizations, h= selection) against a fixed public key.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "mailauth/dkim/signer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sesame::mailauth::dkim;
  static const std::string kKey =
      "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq"
      "631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB";
  std::string text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> tags;
  (void)parse_tag_list(text, tags);
  std::string why;
  (void)verify_with_key(text, kKey, &why);
  return 0;
}
