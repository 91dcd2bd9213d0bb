// mime/: encodings, address lists, and Simple-content assembly.
#include <gtest/gtest.h>

#include "base/encoding.hpp"
#include "mime/address.hpp"
#include "mime/encoding.hpp"
#include "mime/simple_message.hpp"

namespace sesame::mime {
namespace {

TEST(MimeEncoding, QuotedPrintable) {
  EXPECT_EQ(quoted_printable("caf\xc3\xa9 = ok"), "caf=C3=A9 =3D ok");
  EXPECT_EQ(quoted_printable("trailing \nnext"), "trailing=20\r\nnext");
  EXPECT_EQ(quoted_printable(".dot"), "=2Edot");
  std::string longline(200, 'a');
  std::string qp = quoted_printable(longline);
  EXPECT_TRUE(lines_within(qp, 76));
  std::string joined;
  for (std::size_t i = 0; i < qp.size(); ++i) {
    if (qp.compare(i, 3, "=\r\n") == 0) {
      i += 2;
      continue;
    }
    joined.push_back(qp[i]);
  }
  EXPECT_EQ(joined, longline);
}

TEST(MimeEncoding, QuotedPrintableWorstCaseAndDecodesBack) {
  // Every byte encoded, in lines far longer than 76: the output's bound is reached.
  std::string all;
  for (int round = 0; round < 40; ++round)
    for (int c = 0; c < 256; ++c)
      if (c != '\r' && c != '\n') all.push_back(static_cast<char>(c));
  all += "\r\n.\r\n \t\r\nend \t";
  const std::string qp = quoted_printable(all);
  EXPECT_TRUE(lines_within(qp, 76));
  std::string decoded;
  for (std::size_t i = 0; i < qp.size(); ++i) {
    if (qp.compare(i, 3, "=\r\n") == 0) {
      i += 2;
    } else if (qp[i] == '=') {
      ASSERT_LT(i + 2, qp.size());
      decoded.push_back(static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      decoded.push_back(qp[i]);
    }
  }
  EXPECT_EQ(decoded, all);
}

TEST(MimeEncoding, CrlfNormalizesEveryLineEnd) {
  EXPECT_EQ(crlf(""), "");
  EXPECT_EQ(crlf("plain"), "plain");
  EXPECT_EQ(crlf("a\nb\r\nc\rd\r"), "a\r\nb\r\nc\r\nd\r\n");
  EXPECT_EQ(crlf("\n\n\r\r\n"), "\r\n\r\n\r\n\r\n");
  EXPECT_EQ(crlf(std::string(5000, 'x') + "\n" + std::string(3, 'y')), std::string(5000, 'x') + "\r\n" + "yyy");
}

TEST(MimeEncoding, EncodedWordsNeverSplitCharacters) {
  EXPECT_EQ(encode_words("plain"), "plain");
  std::string s;
  for (int i = 0; i < 40; ++i) s += "\xc3\xa9";  // 40 x é
  std::string w = encode_words(s);
  std::size_t start = 0;
  std::string decoded;
  while (start < w.size()) {
    std::size_t end = w.find("?=", start);
    ASSERT_NE(end, std::string::npos);
    std::string word = w.substr(start, end + 2 - start);
    EXPECT_LE(word.size(), 75u);
    auto bytes = base::base64_decode(word.substr(10, word.size() - 12));  // "=?UTF-8?B?" ... "?="
    ASSERT_TRUE(bytes);
    EXPECT_EQ(bytes->size() % 2, 0u);  // whole two-byte characters only
    decoded += *bytes;
    start = end + 2;
    if (w.compare(start, 3, "\r\n ") == 0) start += 3;
  }
  EXPECT_EQ(decoded, s);
}

TEST(MimeAddress, ParsesListsGroupsAndComments) {
  auto l = parse_address_list(R"("Doe, John" <john@example.com>, jane@example.org (Jane), team: a@x.io, b@y.io;)");
  ASSERT_TRUE(l.ok()) << l.error().message;
  ASSERT_EQ(l->size(), 4u);
  EXPECT_EQ((*l)[0].display_name, "Doe, John");
  EXPECT_EQ((*l)[0].address, "john@example.com");
  EXPECT_EQ((*l)[1].address, "jane@example.org");
  EXPECT_EQ((*l)[3].address, "b@y.io");
  EXPECT_FALSE(parse_address_list("a@b.com, <unclosed@x.com").ok());
  EXPECT_FALSE(parse_mailbox("no-at-sign").ok());
  EXPECT_EQ(parse_mailbox("no-at-sign").error().message, "Missing final '@domain'");
  EXPECT_FALSE(parse_mailbox("a@b.com\r\nBcc: evil@x.com").ok());  // header injection
  EXPECT_FALSE(parse_mailbox("caf\xc3\xa9@example.com").ok());    // 8-bit in a 7-bit field
  EXPECT_FALSE(parse_address_list("a@b.co, c@d.co, e@f.co", 2).ok());  // bounded
}

TEST(MimeAddress, FormatsNames) {
  EXPECT_EQ(format_mailbox({"", "a@b.com"}), "a@b.com");
  EXPECT_EQ(format_mailbox({"Shop", "a@b.com"}), "Shop <a@b.com>");
  EXPECT_EQ(format_mailbox({"Doe, John", "a@b.com"}), "\"Doe, John\" <a@b.com>");
  EXPECT_EQ(format_mailbox({"Caf\xc3\xa9", "a@b.com"}), "=?UTF-8?B?Q2Fmw6k=?= <a@b.com>");
}

SimpleMessage sample() {
  SimpleMessage m;
  m.from = {"Shop", "news@example.com"};
  m.to = {{"", "a@example.net"}, {"B", "b@example.net"}};
  m.subject = {"Hello \xc3\xa9", "UTF-8"};
  m.message_id = "0100018d0c5b9a7e-5f0e2b44-8a1c-4e0e-9a5e-2f6c3b8d1e77-000000@email.amazonses.com";
  m.date = 1705320000;
  return m;
}

TEST(MimeBuild, TextAndHtmlMakeAlternative) {
  SimpleMessage m = sample();
  m.text = TextPart{"Hi there\nsecond line"};
  m.html = TextPart{"<p>Hi \xc3\xa9</p>"};
  m.headers = {{"X-Campaign", "spring"}};
  auto out = build_simple(m);
  ASSERT_TRUE(out.ok()) << out.error().message;
  const std::string& s = out.value();
  EXPECT_NE(s.find("From: Shop <news@example.com>\r\n"), std::string::npos);
  EXPECT_NE(s.find("To: a@example.net,\r\n B <b@example.net>\r\n"), std::string::npos);
  EXPECT_NE(s.find("Subject: =?UTF-8?B?SGVsbG8gw6k=?=\r\n"), std::string::npos);
  EXPECT_NE(s.find("Date: Mon, 15 Jan 2024 12:00:00 +0000\r\n"), std::string::npos);
  EXPECT_NE(s.find("X-Campaign: spring\r\n"), std::string::npos);
  EXPECT_NE(s.find("Content-Type: multipart/alternative; boundary="), std::string::npos);
  EXPECT_NE(s.find("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHi there\r\nsecond line\r\n"),
            std::string::npos);
  EXPECT_NE(s.find("Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>Hi =C3=A9</p>\r\n"), std::string::npos);
  EXPECT_TRUE(base::is_ascii(s));
  EXPECT_TRUE(lines_within(s, 998));
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\n') {
      EXPECT_EQ(s[i - 1], '\r');
    }
}

TEST(MimeBuild, AttachmentsMakeMixedAndRelated) {
  SimpleMessage m = sample();
  m.html = TextPart{"<img src=\"cid:logo\">"};
  m.attachments.push_back({"logo.png", "", true, "logo", "", "base64", std::string("\x89PNG\r\n", 6)});
  m.attachments.push_back({"r\xc3\xa9sum\xc3\xa9.pdf", "", false, "", "", "base64", std::string(100, 'x')});
  auto out = build_simple(m);
  ASSERT_TRUE(out.ok()) << out.error().message;
  const std::string& s = out.value();
  EXPECT_LT(s.find("multipart/mixed"), s.find("multipart/related"));
  EXPECT_NE(s.find("Content-Type: image/png; name=\"logo.png\"\r\nContent-Disposition: inline; filename=\"logo.png\"\r\nContent-ID: <logo>\r\n"),
            std::string::npos);
  EXPECT_NE(s.find("Content-Type: application/pdf; name=\"=?UTF-8?B?"), std::string::npos);
  EXPECT_TRUE(base::is_ascii(s));
}

TEST(MimeBuild, RefusesInjectionAndOwnHeaders) {
  SimpleMessage m = sample();
  m.text = TextPart{"x"};
  m.subject.data = "Hi\r\nBcc: evil@example.org";
  EXPECT_FALSE(build_simple(m).ok());
  m = sample();
  m.text = TextPart{"x"};
  m.headers = {{"From", "evil@example.org"}};
  EXPECT_FALSE(build_simple(m).ok());
  m.headers = {{"X-Ok", "a\nb"}};
  EXPECT_FALSE(build_simple(m).ok());
  m.headers = {{"Bad Name", "v"}};
  EXPECT_FALSE(build_simple(m).ok());
  m.headers.clear();
  m.text->charset = "utf-8\r\nX: y";
  EXPECT_FALSE(build_simple(m).ok());
}

TEST(Encoding, LinesWithinCountsOctetsBetweenLineEndsButNotCR) {
  EXPECT_TRUE(lines_within("", 0));
  EXPECT_TRUE(lines_within("abc", 3));
  EXPECT_FALSE(lines_within("abcd", 3));           // the last line has no LF
  EXPECT_TRUE(lines_within("abc\r\nabc\r\n", 3));  // CRLF excluded
  EXPECT_FALSE(lines_within("abc\r\nabcd\r\nab", 3));
  EXPECT_TRUE(lines_within("a\rb\rc\n", 3));  // a bare CR is not counted either
  EXPECT_FALSE(lines_within("a\rb\rcd\n", 3));
  EXPECT_TRUE(lines_within("\n\n\n", 0));
  std::string long_line(999, 'x');
  EXPECT_FALSE(lines_within("ok\r\n" + long_line + "\r\nok", 998));
  long_line.pop_back();
  EXPECT_TRUE(lines_within("ok\r\n" + long_line + "\r\nok", 998));
}

}  // namespace
}  // namespace sesame::mime
