// Fuzz target: raw message parsing and the SES processing applied to it: header checks and
// directives, and the walk over its MIME parts that rewrites the HTML (open and click
// tracking). Whatever the input, the rewritten message must still be one parse_raw accepts
// (no line over 1,000 characters, headers intact).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "mime/parts.hpp"
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
  // An edit that grows every link, as tracking does.
  edit_html_parts(m.value(), [](std::string_view html) {
    std::string out(html);
    for (std::size_t at = out.find("href="); at != std::string::npos; at = out.find("href=", at + 200))
      out.insert(at + 5, std::string(190, 'T'));
    return out + "<img src=\"pixel\">";
  });
  limits.max_bytes = 64u << 20;
  if (!parse_raw(serialize(m.value()), limits).ok()) std::abort();
  return 0;
}
