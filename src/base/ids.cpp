#include "base/ids.hpp"

#include <cstdio>

#include "base/encoding.hpp"

namespace sesame::base {

std::string uuid_v4() {
  std::string b = random_bytes(16);
  b[6] = char((b[6] & 0x0f) | 0x40);
  b[8] = char((b[8] & 0x3f) | 0x80);
  std::string h = hex_lower(b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
         h.substr(20);
}

std::string account_id() {
  std::string b = random_bytes(12);
  std::string out;
  for (std::size_t i = 0; i < 12; ++i) {
    int d = (unsigned char)b[i] % 10;
    if (i == 0 && d == 0) d = 1;
    out.push_back(char('0' + d));
  }
  return out;
}

std::string access_key_id() {
  static constexpr char kAlpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string b = random_bytes(16);
  std::string out = "AKIA";
  for (unsigned char c : b) out.push_back(kAlpha[c & 31]);
  return out;
}

std::string secret_access_key() { return base64_encode(random_bytes(30)); }

std::string ses_message_id(double epoch_seconds, std::string_view prefix) {
  char ms[16];
  unsigned long long millis = epoch_seconds > 0 ? static_cast<unsigned long long>(epoch_seconds * 1000.0) : 0;
  std::snprintf(ms, sizeof ms, "%012llx", millis & 0xffffffffffffULL);
  std::string p(prefix.substr(0, 4));
  while (p.size() < 4) p.insert(p.begin(), '0');
  return p + ms + "-" + uuid_v4() + "-000000";
}

std::string token(std::size_t n) {
  static constexpr char kAlpha[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string b = random_bytes(n);
  std::string out;
  for (unsigned char c : b) out.push_back(kAlpha[c & 31]);
  return out;
}

}  // namespace sesame::base
