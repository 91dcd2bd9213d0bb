// Fuzz target: the fast JSON path (api::parse_json_fast) against nlohmann on the same
// bytes. Whenever the fast path returns a value, nlohmann must accept the input too and
// produce an equal value of the same types; the fast path may give up on anything.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/json_fast.hpp"

namespace {
bool same(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !same(*it, *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto fast = sesame::api::parse_json_fast(text, 64);
  if (!fast) return 0;
  auto slow = nlohmann::json::parse(text, nullptr, false);
  if (slow.is_discarded() || !same(*fast, slow)) __builtin_trap();
  return 0;
}
