// Fuzz target: open and click tracking (service/tracking): the sender's HTML rewritten, and
// the /t/... paths anyone on the internet may request, read back and checked.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "service/tracking.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  sesame::service::TrackingLinks t;
  t.base = "http://s.test";
  t.message_id = "0100-fuzz";
  t.key = "fuzz-key-0123456789abcdef0123456789";
  t.opens = t.clicks = true;
  const std::string out = sesame::service::track_html(in, t);
  if (out.size() > in.size() + 1000 * 2048 + 512) __builtin_trap();
  auto hit = sesame::service::parse_tracking_path(in, t.key);
  if (hit && hit->message_id.empty()) __builtin_trap();
  return 0;
}
