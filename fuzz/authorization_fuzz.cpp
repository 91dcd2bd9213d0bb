// Fuzz target: the SigV4 Authorization header parser and the canonicalization helpers,
// then the whole verifier with the input as the header.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/sigv4.hpp"

namespace {
class FixedClock final : public sesame::base::Clock {
 public:
  sesame::base::EpochSeconds now() const override { return 1705320000; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sesame::api;
  static FixedClock clock;
  static Verifier verifier(
      [](const std::string& id) -> sesame::base::Result<std::optional<KeyRecord>> {
        if (id.size() % 2) return std::optional<KeyRecord>(KeyRecord{"secret", "123456789012"});
        return std::optional<KeyRecord>();
      },
      clock);
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)parse_authorization(text);
  (void)canonical_uri(text);
  (void)canonical_query(text);
  sesame::base::HttpRequest req;
  req.method = "POST";
  req.target = "/?" + text.substr(0, 64);
  req.headers = {{"Authorization", text}, {"X-Amz-Date", "20240115T120000Z"}, {"Host", "h"}};
  AuthRejection rej{};
  (void)verifier.verify(req, &rej);
  return 0;
}
