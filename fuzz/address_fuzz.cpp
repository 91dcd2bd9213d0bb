// Fuzz target: RFC 5322 address-list parsing and mailbox formatting (mime/address).
#include <cstddef>
#include <cstdint>
#include <string>

#include "mime/address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sesame::mime;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto list = parse_address_list(text, 100);
  if (list.ok())
    for (const auto& m : list.value()) (void)format_mailbox(m);
  (void)parse_mailbox(text);
  return 0;
}
