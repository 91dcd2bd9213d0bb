#include "base/encoding.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>
#include <vector>

#include "base/clock.hpp"

namespace sesame::base {
namespace {

TEST(Encoding, Base64RoundTripsAndRejectsGarbage) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\x10", 3)})
    EXPECT_EQ(base64_decode(base64_encode(s)).value(), s);
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(base64_decode("Zm9v YmFy"));
  EXPECT_FALSE(base64_decode("Z"));
  EXPECT_FALSE(base64_decode("Zm9v!"));
}

TEST(Encoding, PercentCoding) {
  EXPECT_EQ(percent_decode("a%40b+c", true).value(), "a@b c");
  EXPECT_EQ(percent_decode("a%40b+c", false).value(), "a@b+c");
  EXPECT_FALSE(percent_decode("%", false));
  EXPECT_FALSE(percent_decode("%4", false));
  EXPECT_FALSE(percent_decode("%g0", false));
  EXPECT_EQ(percent_encode("a b/@~"), "a%20b%2F%40~");
  EXPECT_EQ(percent_encode("a b/@~", true), "a%20b/%40~");
}

TEST(Encoding, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
}

TEST(Encoding, Sha256KnownAnswersOnSeveralThreads) {
  // FIPS 180-2 examples, and a million 'a's; each thread hashes with its own context.
  auto check = [] {
    EXPECT_EQ(hex_lower(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex_lower(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex_lower(sha256(std::string(1000000, 'a'))),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 50; ++j) check();
    });
  for (auto& t : threads) t.join();
  check();
}

TEST(Encoding, RandomBytesAreFreshAcrossThePoolAndAFork) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {  // several refills of the per-thread pool
    std::string b = random_bytes(16);
    ASSERT_EQ(b.size(), 16u);
    EXPECT_TRUE(seen.insert(b).second);
  }
  EXPECT_EQ(random_bytes(1000).size(), 1000u);  // large draws bypass the pool
  EXPECT_EQ(random_bytes(0).size(), 0u);
  // A child after fork() must not hand out the bytes its parent will: both draw next.
  (void)random_bytes(16);  // the pool holds unused bytes now
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string b = random_bytes(16);
    _exit(::write(fds[1], b.data(), b.size()) == 16 ? 0 : 1);
  }
  ::close(fds[1]);
  std::string child(16, '\0');
  ASSERT_EQ(::read(fds[0], child.data(), child.size()), 16);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_NE(random_bytes(16), child);
}

TEST(Clock, Iso8601) {
  EXPECT_EQ(format_iso8601(1705320000.5), "2024-01-15T12:00:00.500Z");
  EXPECT_DOUBLE_EQ(parse_iso8601("2024-01-15T12:00:00Z").value(), 1705320000);
  EXPECT_DOUBLE_EQ(parse_iso8601("2024-01-15T12:00:00.25Z").value(), 1705320000.25);
  EXPECT_DOUBLE_EQ(parse_iso8601("2024-01-15T13:00:00+01:00").value(), 1705320000);
  EXPECT_FALSE(parse_iso8601("2024-13-15T12:00:00Z"));
  EXPECT_FALSE(parse_iso8601("yesterday"));
  EXPECT_FALSE(parse_iso8601("2024-01-15T12:00:00.Z"));
}

TEST(Clock, AmzAndHttpDates) {
  EXPECT_EQ(format_amz_date(1705320000), "20240115T120000Z");
  EXPECT_DOUBLE_EQ(parse_amz_date("20240115T120000Z").value(), 1705320000);
  EXPECT_FALSE(parse_amz_date("20240115120000Z"));
  EXPECT_EQ(format_http_date(1705320000), "Mon, 15 Jan 2024 12:00:00 GMT");
  EXPECT_DOUBLE_EQ(parse_http_date("Mon, 15 Jan 2024 12:00:00 GMT").value(), 1705320000);
}

}  // namespace
}  // namespace sesame::base

#include "base/ids.hpp"

namespace sesame::base {
namespace {
TEST(Ids, SesMessageIdFormat) {
  std::string id = ses_message_id(1646870407.463);  // 2022-03-10T00:00:07.463Z (reference §5)
  ASSERT_EQ(id.size(), 60u);
  EXPECT_EQ(id.substr(0, 16), "0100017f71202927");
  EXPECT_EQ(id.substr(53), "-000000");
  for (char c : id) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-') << id;
  EXPECT_NE(ses_message_id(1), ses_message_id(1));
}
}  // namespace
}  // namespace sesame::base

namespace sesame::base {
namespace {
TEST(Utf8Sequence, WellFormedLengthsAndIllFormedSpans) {
  EXPECT_EQ(utf8_sequence("a", 0), 1u);
  EXPECT_EQ(utf8_sequence("\xC3\xA9", 0), 2u);
  EXPECT_EQ(utf8_sequence("\xE2\x82\xAC", 0), 3u);
  EXPECT_EQ(utf8_sequence("\xF0\x9F\x98\x80", 0), 4u);
  EXPECT_EQ(utf8_sequence("x\xF4\x8F\xBF\xBF", 1), 4u);  // U+10FFFF
  struct Bad {
    const char* text;
    std::size_t span;
  } bad[] = {{"\x80", 1},         {"\xC0\xAF", 1},     {"\xE0\x80\x80", 1}, {"\xED\xA0\x80", 1}, {"\xF4\x90\x80\x80", 1},
             {"\xF5\x80\x80", 1}, {"\xFF", 1},         {"\xC3", 1},         {"\xE2\x82", 2},     {"\xE2\x82x", 2},
             {"\xF0\x9F\x98", 3}, {"\xF0\x9F\x98x", 3}};
  for (const auto& b : bad) {
    std::size_t span = 0;
    EXPECT_EQ(utf8_sequence(b.text, 0, &span), 0u) << b.text;
    EXPECT_EQ(span, b.span) << b.text;
  }
}

TEST(Encoding, IsAsciiFindsAHighByteAnywhere) {
  // Every position of a string spanning two 64-byte blocks and a tail.
  const std::string plain(150, 'a');
  EXPECT_TRUE(is_ascii(plain));
  EXPECT_TRUE(is_ascii(""));
  for (std::size_t i = 0; i < plain.size(); ++i) {
    std::string s = plain;
    s[i] = '\x80';
    EXPECT_FALSE(is_ascii(s)) << i;
    s[i] = '\xff';
    EXPECT_FALSE(is_ascii(std::string_view(s).substr(i))) << i;
    EXPECT_TRUE(is_ascii(std::string_view(s).substr(0, i))) << i;
  }
}

}  // namespace
}  // namespace sesame::base
