// Fuzz target: what the webhook client parses from outside: subscriber endpoint URLs
// (split_http_url) and the status line a hostile endpoint answers (parse_status_line).
#include <cstddef>
#include <cstdint>
#include <string>

#include "net/http_post.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  bool https = false;
  std::string host, target;
  int port = 0;
  if (sesame::net::split_http_url(in, &https, &host, &port, &target)) {
    if (host.empty() || port <= 0 || port > 65535 || target.empty() || target[0] != '/') __builtin_trap();
    for (char c : host + target)
      if (c == '\r' || c == '\n' || c == '\0') __builtin_trap();
  }
  int status = sesame::net::parse_status_line(in);
  if (status != -1 && (status < 100 || status > 999)) __builtin_trap();
  return 0;
}
