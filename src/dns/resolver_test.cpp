// dns/: the TTL reader behind the resolver's cache, on well-formed and hostile responses.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dns/resolver.hpp"

namespace sesame::dns {
namespace {

using Bytes = std::vector<unsigned char>;

void put16(Bytes& b, unsigned v) {
  b.push_back(static_cast<unsigned char>(v >> 8));
  b.push_back(static_cast<unsigned char>(v));
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}
void name(Bytes& b, const std::string& dotted) {
  std::size_t start = 0;
  while (start <= dotted.size()) {
    std::size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    b.push_back(static_cast<unsigned char>(dot - start));
    b.insert(b.end(), dotted.begin() + long(start), dotted.begin() + long(dot));
    start = dot + 1;
  }
  b.push_back(0);
}
Bytes response(unsigned qd, unsigned an) {
  Bytes b;
  put16(b, 0x1234);
  put16(b, 0x8180);
  put16(b, qd);
  put16(b, an);
  put16(b, 0);
  put16(b, 0);
  return b;
}
void a_record(Bytes& b, std::uint32_t ttl) {
  b.push_back(0xc0);  // a pointer to the question's name
  b.push_back(12);
  put16(b, 1);
  put16(b, 1);
  put32(b, ttl);
  put16(b, 4);
  for (int i : {127, 0, 0, 1}) b.push_back(static_cast<unsigned char>(i));
}

TEST(DnsAnswerTtl, SmallestOfTheAnswers) {
  Bytes b = response(1, 3);
  name(b, "mx.sink.test");
  put16(b, 1);
  put16(b, 1);
  a_record(b, 300);
  a_record(b, 60);
  a_record(b, 3600);
  ASSERT_TRUE(answer_ttl(b).has_value());
  EXPECT_EQ(*answer_ttl(b), 60u);
}

TEST(DnsAnswerTtl, NothingForNoAnswerOrHostileInput) {
  Bytes empty = response(1, 0);
  name(empty, "sink.test");
  put16(empty, 15);
  put16(empty, 1);
  EXPECT_FALSE(answer_ttl(empty).has_value());
  EXPECT_FALSE(answer_ttl(Bytes{}).has_value());
  EXPECT_FALSE(answer_ttl(Bytes(11, 0)).has_value());

  Bytes full = response(1, 1);
  name(full, "sink.test");
  put16(full, 1);
  put16(full, 1);
  a_record(full, 42);
  ASSERT_EQ(answer_ttl(full).value_or(0), 42u);
  for (std::size_t cut = 0; cut < full.size(); ++cut)  // every truncation: no answer, no overread
    EXPECT_FALSE(answer_ttl(Bytes(full.begin(), full.begin() + long(cut))).has_value()) << cut;

  Bytes lying = full;  // RDLENGTH beyond the packet
  lying[lying.size() - 6] = 0xff;
  EXPECT_FALSE(answer_ttl(lying).has_value());
  Bytes labels = response(1, 1);  // a name of 200 labels: refused, not walked forever
  for (int i = 0; i < 200; ++i) labels.push_back(1), labels.push_back('a');
  labels.push_back(0);
  EXPECT_FALSE(answer_ttl(labels).has_value());
  Bytes reserved = response(1, 0);  // label type 0x40 (RFC 6891 reserved)
  reserved.push_back(0x41);
  EXPECT_FALSE(answer_ttl(reserved).has_value());
}

}  // namespace
}  // namespace sesame::dns
