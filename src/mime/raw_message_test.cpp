// Raw messages as SendRawEmail/SMTP see them: parsing limits, SES directives, duplicate
// headers, envelope recipients, Bcc stripping, Message-ID/Date replacement.
#include "mime/raw_message.hpp"

#include <gtest/gtest.h>

namespace sesame::mime {
namespace {

const char* kRaw =
    "From: Shop <news@example.com>\nTo: a@example.net, \"B\" <b@example.net>\nCc: c@example.net\n"
    "Bcc: hidden@example.org\nSubject: hi\nMessage-ID: <client@local>\n"
    "X-SES-CONFIGURATION-SET: cs1\nX-SES-MESSAGE-TAGS: campaign=spring, user=u@x.io\n"
    "X-SES-CONFIGURATION-SET: ignored\n\nbody line\n";

TEST(RawMessage, ParsesAndRoundTrips) {
  auto m = parse_raw(kRaw);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->headers.size(), 9u);
  EXPECT_EQ(m->body, "body line\r\n");
  EXPECT_EQ(header(*m, "subject").value(), "hi");
  std::string s = serialize(*m);
  EXPECT_EQ(s.find('\n'), s.find("\r\n") + 1);
  auto again = parse_raw(s);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(serialize(*again), s);
}

TEST(RawMessage, TakesSesDirectivesFirstWins) {
  auto m = parse_raw(kRaw).value();
  auto d = take_ses_directives(m);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->configuration_set.value(), "cs1");
  ASSERT_EQ(d->tags.size(), 2u);
  EXPECT_EQ(d->tags[1].second, "u@x.io");
  EXPECT_FALSE(header(m, "X-SES-CONFIGURATION-SET"));
  EXPECT_FALSE(header(m, "X-SES-MESSAGE-TAGS"));
  auto bad = parse_raw("From: a@b.com\nX-SES-MESSAGE-TAGS: x:1=v\n\n").value();
  auto r = take_ses_directives(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "Invalid tag name <x:1>: only alphanumeric ASCII characters, '_',  '-' are allowed.");
}

TEST(RawMessage, RecipientsBccAndReplacement) {
  auto m = parse_raw(kRaw).value();
  auto rcpts = header_recipients(m);
  ASSERT_TRUE(rcpts.ok());
  ASSERT_EQ(rcpts->size(), 4u);
  EXPECT_EQ((*rcpts)[3].address, "hidden@example.org");
  remove_header(m, "Bcc");
  replace_header(m, "Message-ID", "<new@email.amazonses.com>");
  std::string s = serialize(m);
  EXPECT_EQ(s.find("hidden@example.org"), std::string::npos);
  EXPECT_EQ(s.rfind("Message-ID: <new@email.amazonses.com>\r\n", 0), 0u);
  EXPECT_EQ(s.find("client@local"), std::string::npos);
}

TEST(RawMessage, RefusesBadInput) {
  EXPECT_EQ(parse_raw("From: a@b.com\nMessage-ID: <1>\nMessage-ID: <2>\n\n")
                .value()
                .headers.size(),
            3u);
  EXPECT_EQ(check_single_headers(parse_raw("From: a@b.com\nMessage-ID: <1>\nMessage-id: <2>\n\n").value()).error().message,
            "Duplicate header 'Message-ID'.");
  EXPECT_FALSE(parse_raw(std::string("From: a@b.com\n\nx\0y", 19)).ok());
  EXPECT_FALSE(parse_raw("From: a@b.com\n\n" + std::string(1001, 'x')).ok());
  EXPECT_FALSE(parse_raw(" continuation first\n\n").ok());
  EXPECT_FALSE(parse_raw("no colon here\n\n").ok());
  RawLimits small;
  small.max_bytes = 10;
  EXPECT_FALSE(parse_raw("From: a@b.com\n\n", small).ok());
  EXPECT_FALSE(header_recipients(parse_raw("To: not an address\n\n").value()).ok());
}

}  // namespace
}  // namespace sesame::mime
