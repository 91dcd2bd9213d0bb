// Fuzz target: base::append_json_string against nlohmann's dump (replace handler) on the
// same bytes, which are any bytes at all (mail headers, remote SMTP replies). The two must
// write the same text, and that text must be valid JSON holding valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "base/json_text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  std::string ours;
  sesame::base::append_json_string(ours, s);
  if (ours != nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) __builtin_trap();
  auto back = nlohmann::json::parse(ours, nullptr, false);
  if (back.is_discarded() || !back.is_string()) __builtin_trap();
  (void)back.dump();  // strict: throws (aborts the fuzzer) on invalid UTF-8
  return 0;
}
