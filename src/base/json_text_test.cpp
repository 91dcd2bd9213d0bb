#include "base/json_text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace sesame::base {
namespace {
std::string nlohmann_text(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
std::string ours(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonText, StringsAreWrittenAsNlohmannWritesThem) {
  for (std::string s : {std::string(""), std::string("plain"), std::string("quote \" back \\ slash /"),
                        std::string("\b\f\n\r\t\x01\x1f\x7f"), std::string("nul \0 inside", 12),
                        std::string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF \xF4\x8F\xBF\xBF")})
    EXPECT_EQ(ours(s), nlohmann_text(s)) << s;
}

TEST(JsonText, IllFormedUtf8BecomesTheReplacementCharacter) {
  // Latin-1, lone continuation bytes, overlongs, surrogates, beyond U+10FFFF, truncations.
  const char* cases[] = {"caf\xE9 cr\xE8me", "\x80", "\xBF\xBF", "\xC0\xAF", "\xC1\x81", "\xE0\x80\xAF", "\xED\xA0\x80",
                         "\xF0\x80\x80\x80", "\xF4\x90\x80\x80", "\xF5\x80", "\xFF\xFE", "\xC3", "ab\xE2\x82", "\xF0\x9F\x98",
                         "\xE2\x82x", "\xF0\x9F\x98\"", "\xC3\n"};
  for (const char* c : cases) {
    const std::string s(c);
    const std::string text = ours(s);
    EXPECT_EQ(text, nlohmann_text(s)) << s;
    EXPECT_NO_THROW((void)nlohmann::json::parse(text).dump()) << text;  // the result is valid UTF-8 JSON
  }
  EXPECT_EQ(ours("caf\xE9!"), "\"caf\xEF\xBF\xBD!\"");
  EXPECT_EQ(ours("\xE2\x82x"), "\"\xEF\xBF\xBDx\"");  // the breaking byte is read again
}

TEST(JsonText, RandomBytesAgreeWithNlohmann) {
  std::mt19937 rng(20261206);
  const unsigned char alphabet[] = {'a', '"', '\\', '\n', 0x01, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc2, 0xc3, 0xdf,
                                    0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x82, 0x98, 0x90, 0x8f};
  for (int round = 0; round < 20000; ++round) {
    std::string s(rng() % 12, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 3 == 0 ? rng() % 256 : alphabet[rng() % sizeof alphabet]);
    ASSERT_EQ(ours(s), nlohmann_text(s)) << nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  }
}

TEST(JsonText, WriterNestsWithCommasAsNlohmannDumps) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .key("a").begin_array().value("x").value(true).value(std::int64_t{-42}).begin_object().end_object().end_array()
      .key("b").begin_object().key("c").value(false).key("d").raw(R"({"e":[1,2]})").end_object()
      .key("empty").begin_array().end_array()
      .key("n").value(std::int64_t{50400})
      .end_object();
  nlohmann::json expected{{"a", {"x", true, -42, nlohmann::json::object()}},
                          {"b", {{"c", false}, {"d", {{"e", {1, 2}}}}}},
                          {"empty", nlohmann::json::array()},
                          {"n", 50400}};
  EXPECT_EQ(out, expected.dump());
}
}  // namespace
}  // namespace sesame::base
