// MIME parts: Content-Type parameters, multipart splitting, quoted-printable decoding, and the
// HTML-part rewriting that open and click tracking applies to raw messages.
#include "mime/parts.hpp"

#include <gtest/gtest.h>

#include <string>

#include "base/encoding.hpp"
#include "mime/encoding.hpp"

namespace sesame::mime {
namespace {

// The edit tracking would make, reduced to something visible: every "href" gets a marker.
std::string mark(std::string_view html) {
  std::string out(html);
  for (std::size_t at = out.find("href=\""); at != std::string::npos; at = out.find("href=\"", at + 12))
    out.insert(at + 6, "T:");
  return out;
}

RawMessage parsed(const std::string& text) {
  auto m = parse_raw(text);
  EXPECT_TRUE(m.ok()) << m.error().message;
  return m.ok() ? m.value() : RawMessage{};
}

TEST(Parts, ContentTypeAndParameters) {
  EXPECT_EQ(media_type(" Multipart/Alternative ; boundary=x"), "multipart/alternative");
  EXPECT_EQ(media_type("text/html"), "text/html");
  EXPECT_EQ(content_param("multipart/mixed; boundary=\"a;b \\\"c\\\"\"; charset=utf-8", "boundary"), "a;b \"c\"");
  EXPECT_EQ(content_param("text/html; CHARSET=ISO-8859-1", "charset"), "ISO-8859-1");
  EXPECT_EQ(content_param("text/html", "charset"), "");
  EXPECT_EQ(content_param("text/html; charset", "charset"), "");  // no '='
}

TEST(Parts, MultipartSplitting) {
  const std::string body = "preamble\r\n--b\r\nA: 1\r\n\r\none\r\n--b  \r\n\r\ntwo\r\n--b--\r\nepilogue\r\n";
  auto parts = parts_of(body, "b", 10);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], "A: 1\r\n\r\none");
  EXPECT_EQ(parts[1], "\r\ntwo");
  EXPECT_EQ(parts_of(body, "b", 1).size(), 1u);
  EXPECT_TRUE(parts_of(body, "", 10).empty());
  EXPECT_TRUE(parts_of(body, std::string(201, 'b'), 10).empty());
  // No closing delimiter: the rest is the last part.
  auto open = parts_of("--b\r\n\r\nlast\r\n", "b", 10);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0], "\r\nlast\r\n");
}

TEST(Parts, QuotedPrintableDecoding) {
  EXPECT_EQ(decode_quoted_printable("a=3Db=3db"), "a=b=b");
  EXPECT_EQ(decode_quoted_printable("long=\r\nline= \t\r\nend=\nx"), "longlineendx");
  EXPECT_EQ(decode_quoted_printable("=ZZ=4"), "=ZZ=4");  // not escapes: kept as they are
  EXPECT_EQ(decode_quoted_printable("end="), "end");
  EXPECT_EQ(decode_quoted_printable("caf=C3=A9\r\n"), "caf\xC3\xA9\r\n");
  // Round trip through the encoder, long lines and 8-bit bytes included.
  const std::string text = std::string(300, 'x') + " =\xC3\xA9\r\n<a href=\"https://e.example/?a=1&b=2\">l</a>\r\n";
  EXPECT_EQ(decode_quoted_printable(quoted_printable(text)), text);
}

TEST(Parts, SinglePartHtmlIsRewrittenAsQuotedPrintable) {
  auto m = parsed(
      "From: a@b.example\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<a href=\"https://x.example/\">x</a>\r\n");
  EXPECT_EQ(edit_html_parts(m, mark), 1u);
  EXPECT_EQ(header(m, "Content-Transfer-Encoding"), "quoted-printable");
  EXPECT_EQ(decode_quoted_printable(m.body), "<a href=\"T:https://x.example/\">x</a>\r\n");
  EXPECT_TRUE(lines_within(m.body, 76));
}

TEST(Parts, OnlyTheHtmlAlternativeChangesTheRestKeepsItsBytes) {
  const std::string qp_html =
      quoted_printable("<p>" + std::string(100, 'w') + " <a href=\"https://x.example/a\">a</a></p>");
  const std::string text =
      "From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
      "This is a multi-part message.\r\n"
      "--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n"
      "--inner\r\nContent-Type: text/plain\r\n\r\nsee href=\"https://x.example/a\"\r\n"
      "--inner\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
      qp_html +
      "\r\n--inner--\r\n"
      "--outer\r\nContent-Type: text/html; name=page.html\r\nContent-Disposition: attachment; "
      "filename=page.html\r\n\r\n"
      "<a href=\"https://x.example/attached\">kept</a>\r\n"
      "--outer\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: text/html\r\n\r\n<a "
      "href=\"https://x.example/fwd\">f</a>\r\n"
      "--outer\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      base64_lines("<a href=\"https://x.example/b64\">b</a>") + "--outer--\r\nepilogue\r\n";
  auto m = parsed(text);
  const std::string before = m.body;
  EXPECT_EQ(edit_html_parts(m, mark), 2u);
  // The text alternative, the attachment and the attached message are byte for byte as they were.
  EXPECT_NE(m.body.find("Content-Type: text/plain\r\n\r\nsee href=\"https://x.example/a\"\r\n--inner\r\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("<a href=\"https://x.example/attached\">kept</a>\r\n--outer\r\n"), std::string::npos);
  EXPECT_NE(m.body.find("<a href=\"https://x.example/fwd\">f</a>\r\n--outer\r\n"), std::string::npos);
  EXPECT_EQ(m.body.substr(0, 40), before.substr(0, 40));
  EXPECT_NE(m.body.find("--outer--\r\nepilogue\r\n"), std::string::npos);
  // The HTML alternative: rewritten, still quoted-printable.
  auto outer = parts_of(m.body, "outer", 10);
  ASSERT_EQ(outer.size(), 4u);
  auto alt = parse_raw(outer[0]);
  ASSERT_TRUE(alt.ok());
  auto inner = parts_of(alt.value().body, "inner", 10);
  ASSERT_EQ(inner.size(), 2u);
  auto html = parse_raw(inner[1]);
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(header(html.value(), "Content-Transfer-Encoding"), "quoted-printable");
  EXPECT_NE(decode_quoted_printable(html.value().body).find("href=\"T:https://x.example/a\""), std::string::npos);
  // The base64 HTML part: rewritten, still base64.
  auto b64 = parse_raw(outer[3]);
  ASSERT_TRUE(b64.ok());
  EXPECT_EQ(header(b64.value(), "Content-Transfer-Encoding"), "base64");
  std::string packed;
  for (char c : b64.value().body)
    if (c != '\r' && c != '\n') packed += c;
  EXPECT_EQ(base::base64_decode(packed), "<a href=\"T:https://x.example/b64\">b</a>");
}

TEST(Parts, WhatCannotBeReadIsLeftAlone) {
  for (const std::string& text : {
           // A multipart without its boundary parameter.
           std::string("Content-Type: multipart/alternative\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<a "
                       "href=\"h\">\r\n--x--\r\n"),
           // An encoding of its own, and a charset that is not ASCII-compatible.
           std::string("Content-Type: text/html\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n<a href=\"h\">\r\n"),
           std::string("Content-Type: text/html; charset=UTF-16LE\r\n\r\n<a href=\"h\">\r\n"),
           // Base64 that is not base64.
           std::string("Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%%\r\n"),
           // A signed message (S/MIME, OpenPGP): the edit would break the sender's signature.
           std::string("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=s\r\n\r\n"
                       "--s\r\nContent-Type: text/html\r\n\r\n<a href=\"h\">\r\n--s\r\n"
                       "Content-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--s--\r\n"),
           // Plain text, and no Content-Type at all.
           std::string("Content-Type: text/plain\r\n\r\n<a href=\"h\">\r\n"),
           std::string("Subject: x\r\n\r\n<a href=\"h\">\r\n"),
       }) {
    auto m = parsed(text);
    const std::string body = m.body;
    const auto headers = m.headers.size();
    EXPECT_EQ(edit_html_parts(m, mark), 0u) << text;
    EXPECT_EQ(m.body, body);
    EXPECT_EQ(m.headers.size(), headers);
  }
  // An edit that changes nothing changes no bytes (no re-encoding).
  auto m = parsed("Content-Type: text/html\r\n\r\n<p>no links</p>\r\n");
  EXPECT_EQ(edit_html_parts(m, [](std::string_view h) { return std::string(h); }), 0u);
  EXPECT_EQ(m.body, "<p>no links</p>\r\n");
  EXPECT_FALSE(header(m, "Content-Transfer-Encoding"));
}

TEST(Parts, HostileNestingAndPartCountsStopAtTheLimits) {
  // 5,000 nested multiparts with an HTML part at the bottom: walked to max_depth only (no
  // deep recursion), so the HTML is not reached and nothing changes.
  std::string deep = "Content-Type: multipart/mixed; boundary=b0\r\n\r\n";
  std::string tail;
  for (int i = 0; i < 5000; ++i) {
    const std::string b = "b" + std::to_string(i), next = "b" + std::to_string(i + 1);
    deep += "--" + b + "\r\nContent-Type: multipart/mixed; boundary=" + next + "\r\n\r\n";
    tail = "\r\n--" + b + "--\r\n" + tail;
  }
  deep += "--b5000\r\nContent-Type: text/html\r\n\r\n<a href=\"h\">\r\n--b5000--" + tail;
  RawLimits big;
  big.max_bytes = 64u << 20;
  auto m = parse_raw(deep, big);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(edit_html_parts(m.value(), mark), 0u);
  // Shallow nesting within the limit is followed.
  PartLimits limits;
  limits.max_depth = 3;
  auto shallow = parsed(
      "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/html\r\n\r\n<a href=\"h\">\r\n--b--\r\n--a--\r\n");
  EXPECT_EQ(edit_html_parts(shallow, mark, limits), 1u);
  // 10,000 HTML parts: only max_parts of them are looked at.
  std::string many = "Content-Type: multipart/mixed; boundary=m\r\n\r\n";
  for (int i = 0; i < 10000; ++i) many += "--m\r\nContent-Type: text/html\r\n\r\n<a href=\"h\">\r\n";
  many += "--m--\r\n";
  auto wide = parse_raw(many, big);
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(edit_html_parts(wide.value(), mark), PartLimits{}.max_parts);
}

}  // namespace
}  // namespace sesame::mime
