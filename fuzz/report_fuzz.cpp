// Fuzz target: feedback mailed to the bounce domain by anyone (mime/report): DSNs, ARF
// reports and the non-standard bounce forms, within their limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mime/report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sesame::mime::ReportLimits lim;
  lim.max_bytes = 1 << 20;
  auto r = sesame::mime::parse_report(std::string_view(reinterpret_cast<const char*>(data), size), lim);
  if (r.ok() && r.value().recipients.size() > lim.max_recipients) __builtin_trap();
  return 0;
}
