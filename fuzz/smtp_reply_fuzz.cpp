// Fuzz target: SMTP reply parsing as the delivery client does it (smtp/reply): a stream of
// replies from a hostile server, each checked and consumed, EHLO keywords read.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sesame::smtp;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 1000 && !in.empty(); ++i) {
    Reply r;
    std::size_t used = 0;
    std::string error;
    if (parse_reply(in, r, used, error, ReplyLimits{512, 20}) != Parse::kDone) break;
    if (used == 0 || used > in.size()) __builtin_trap();
    (void)r.text();
    (void)parse_ehlo(r);
    in.remove_prefix(used);
  }
  return 0;
}
