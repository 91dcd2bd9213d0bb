// Fuzz target: reading the TTLs of a DNS response (dns::answer_ttl), as the resolver does
// before it keeps an answer: counts, label lengths, compression pointers and RDLENGTH all
// come from the network.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dns/resolver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<unsigned char> packet(data, data + size);
  (void)sesame::dns::answer_ttl(packet);
  return 0;
}
