// Fuzz target: the v2 REST-JSON request decoder. The input is "METHOD PATH?QUERY\nBODY";
// routing, label decoding, query parsing, JSON body coercion and validation all run.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sesame::api;
  static const RestJsonRouter router(ses_v2_model());
  std::string text(reinterpret_cast<const char*>(data), size);
  std::size_t nl = text.find('\n');
  std::string line = text.substr(0, nl);
  sesame::base::HttpRequest req;
  req.body = nl == std::string::npos ? "" : text.substr(nl + 1);
  std::size_t sp = line.find(' ');
  req.method = line.substr(0, sp);
  req.target = sp == std::string::npos ? "/" : line.substr(sp + 1);
  auto [path, query] = split_target(req.target);
  auto match = router.match(req.method, path, nullptr);
  if (!match) return 0;
  auto value = decode_rest_json(*match->op, *match, query, req);
  if (value.ok() && match->op->input) {
    (void)validate(*match->op->input, value.value());
    (void)encode_json_output(match->op->input, value.value());
  }
  return 0;
}
