// Fuzz target: raw message parsing and the SES header processing applied to it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mime/raw_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sesame::mime;
  RawLimits limits;
  limits.max_bytes = 1 << 20;
  auto m = parse_raw(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!m.ok()) return 0;
  (void)check_single_headers(m.value());
  (void)take_ses_directives(m.value());
  (void)header_recipients(m.value());
  remove_header(m.value(), "Bcc");
  replace_header(m.value(), "Message-ID", "<x@y>");
  (void)serialize(m.value());
  return 0;
}
