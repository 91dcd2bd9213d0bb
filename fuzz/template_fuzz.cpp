// Fuzz target: the template compiler and renderer (templating/). The input is a template,
// optionally followed by "\0" and JSON data. Invariants: compile and render return a value
// or an error (never crash, never hang: limits are small here), and a render stays within
// its output limit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "templating/template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sesame::templating;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view source = in, json;
  if (auto nul = in.find('\0'); nul != std::string_view::npos) {
    source = in.substr(0, nul);
    json = in.substr(nul + 1);
  }
  auto t = Template::compile(source);
  if (!t.ok()) {
    if (t.error().message.empty()) __builtin_trap();
    return 0;
  }
  Data d = Data::object();
  if (!json.empty()) {
    auto parsed = parse_data(json, 32);
    if (parsed.ok()) d = std::move(parsed).value();
  }
  d["items"] = Data::array({1, "two", Data::object({{"name", "n"}}), Data::array({3})});
  RenderLimits limits;
  limits.max_output_bytes = 1 << 16;
  limits.max_steps = 20000;
  std::string out;
  auto st = t.value()->render(d, out, limits);
  if (st.ok() && out.size() > limits.max_output_bytes) __builtin_trap();
  if (!st.ok() && st.error().message.empty()) __builtin_trap();
  return 0;
}
