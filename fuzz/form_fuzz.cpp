// Fuzz target: the v1 Query form decoder (parse_form -> decode_query -> validate) for an
// operation chosen by the first byte.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sesame::api;
  if (size == 0) return 0;
  const auto& ops = ses_v1_model().operations();
  const Operation& op = ops[data[0] % ops.size()];
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto params = parse_form(text);
  if (!params.ok()) return 0;
  auto value = decode_query(op.input, params.value());
  if (value.ok() && op.input) (void)validate(*op.input, value.value());
  return 0;
}
