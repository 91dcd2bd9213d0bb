// Test helper: decodes HTTP requests with the real dispatcher (no auth, no handler) and
// prints the operation and request value, one JSON line per request. The botocore oracle
// test (tests/e2e/test_oracle.py) feeds it requests that botocore serialized.
// Input lines: {"method": "...", "target": "...", "headers": {"k": "v"}, "body_b64": "..."}
#include <iostream>
#include <string>

#include "api/dispatcher.hpp"
#include "base/encoding.hpp"

int main() {
  using nlohmann::json;
  sesame::service::HandlerTable handlers;
  sesame::base::SystemClock clock;
  sesame::api::Dispatcher dispatcher(
      handlers, [](const std::string&) -> sesame::base::Result<std::optional<sesame::api::KeyRecord>> { return std::optional<sesame::api::KeyRecord>(); },
      clock);
  std::string line;
  while (std::getline(std::cin, line)) {
    json in = json::parse(line, nullptr, false);
    json out;
    if (in.is_discarded()) {
      out = json{{"error", "bad input line"}};
    } else {
      sesame::base::HttpRequest req;
      req.method = in.value("method", "POST");
      req.target = in.value("target", "/");
      const json headers = in.value("headers", json::object());
      for (const auto& [k, v] : headers.items()) req.headers.emplace_back(k, v.get<std::string>());
      req.body = sesame::base::base64_decode(in.value("body_b64", "")).value_or("");
      sesame::service::Api api;
      auto decoded = dispatcher.decode_only(req, &api);
      if (decoded.ok()) {
        out = json{{"operation", decoded.value().first}, {"input", decoded.value().second},
                   {"api", api == sesame::service::Api::kV1 ? "v1" : "v2"}};
      } else {
        out = json{{"error", decoded.error().message}};
      }
    }
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n" << std::flush;
  }
  return 0;
}
