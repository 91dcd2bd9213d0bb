#include <gtest/gtest.h>

#include "delivery/outcome.hpp"
#include "mime/dsn.hpp"
#include "smtp/reply.hpp"

namespace sesame {
namespace {

smtp::Reply parse(const std::string& text, smtp::Parse expect = smtp::Parse::kDone) {
  smtp::Reply r;
  std::size_t used = 0;
  std::string err;
  EXPECT_EQ(smtp::parse_reply(text, r, used, err), expect) << text << " " << err;
  if (expect == smtp::Parse::kDone) {
    EXPECT_LE(used, text.size());
  }
  return r;
}

TEST(Reply, SingleAndMultiLine) {
  auto r = parse("250 2.0.0 Ok: queued as 12345\r\n");
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.enhanced, "2.0.0");
  EXPECT_EQ(r.text(), "250 2.0.0 Ok: queued as 12345");
  auto m = parse("250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n");
  ASSERT_EQ(m.lines.size(), 4u);
  auto caps = smtp::parse_ehlo(m);
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.starttls);
  EXPECT_EQ(caps.size, 1000u);
  EXPECT_FALSE(caps.smtputf8);
}

TEST(Reply, IncompleteUntilTheLastLine) {
  parse("250-first\r\n250-second", smtp::Parse::kIncomplete);
  parse("250-first\r\n", smtp::Parse::kIncomplete);
  parse("", smtp::Parse::kIncomplete);
}

TEST(Reply, ConsumesOnlyOneReply) {
  smtp::Reply r;
  std::size_t used = 0;
  std::string err;
  std::string two = "250 ok\r\n354 go ahead\r\n";
  ASSERT_EQ(smtp::parse_reply(two, r, used, err), smtp::Parse::kDone);
  EXPECT_EQ(used, 8u);
  ASSERT_EQ(smtp::parse_reply(std::string_view(two).substr(used), r, used, err), smtp::Parse::kDone);
  EXPECT_EQ(r.code, 354);
}

TEST(Reply, HostileInputIsRefused) {
  parse("hello\r\n", smtp::Parse::kBad);
  parse("099 too low\r\n", smtp::Parse::kBad);
  parse("250-a\r\n550 b\r\n", smtp::Parse::kBad);  // code changes mid-reply
  parse("250xno separator\r\n", smtp::Parse::kBad);
  parse(std::string(5000, '2'), smtp::Parse::kBad);  // endless line
  std::string many;
  for (int i = 0; i < 200; ++i) many += "250-x\r\n";
  parse(many, smtp::Parse::kBad);
  auto ctl = parse("550 bad\x01\x1b[31m text\r\n");
  EXPECT_EQ(ctl.text().find('\x1b'), std::string::npos);
  EXPECT_EQ(parse("550 4.1.1 wrong class\r\n").enhanced, "");  // class contradicts the code
}

TEST(Outcome, SesBounceTypes) {
  using delivery::Decision;
  auto d = delivery::decide(parse("550 5.1.1 <x@y>: user unknown\r\n"));
  EXPECT_EQ(d.kind, Decision::kBounced);
  EXPECT_EQ(d.bounce_type, "Permanent");
  EXPECT_EQ(d.bounce_subtype, "NoEmail");
  EXPECT_EQ(d.status, "5.1.1");
  d = delivery::decide(parse("552 5.2.2 mailbox full\r\n"));
  EXPECT_EQ(d.bounce_type, "Transient");
  EXPECT_EQ(d.bounce_subtype, "MailboxFull");
  d = delivery::decide(parse("554 rejected\r\n"));
  EXPECT_EQ(d.bounce_type, "Permanent");
  EXPECT_EQ(d.bounce_subtype, "General");
  EXPECT_EQ(d.status, "5.0.0");
  d = delivery::decide(parse("451 4.3.0 try later\r\n"));
  EXPECT_EQ(d.kind, Decision::kDeferred);
  EXPECT_EQ(d.delay_type, "RecipientServerError");
  d = delivery::decide(delivery::RcptResult{std::nullopt, "connection closed by the server"});
  EXPECT_EQ(d.kind, Decision::kDeferred);
  EXPECT_EQ(d.delay_type, "TransientCommunicationFailure");
  EXPECT_EQ(delivery::decide(parse("250 ok\r\n")).kind, Decision::kDelivered);
}

TEST(Outcome, EventsCarrySesFields) {
  delivery::EventContext c;
  c.mail_json = R"({"messageId":"m"})";
  c.now = 1700000001.5;
  c.reporting_mta = "mta.test";
  c.remote_ip = "127.0.0.1";
  auto e = nlohmann::json::parse(delivery::delivery_event(c, 1700000000, "a@b.test", "250 ok"));
  EXPECT_EQ(e["mail"]["messageId"], "m");
  EXPECT_EQ(e["eventType"], "Delivery");
  EXPECT_EQ(e["delivery"]["processingTimeMillis"], 1500);
  EXPECT_EQ(e["delivery"]["recipients"][0], "a@b.test");
  // Written by hand: the same text nlohmann writes for the object.
  const nlohmann::json expected{{"timestamp", "2023-11-14T22:13:21.500Z"}, {"processingTimeMillis", 1500},
                                {"recipients", {"a@b.test"}},                {"smtpResponse", "250 ok"},
                                {"reportingMTA", "mta.test"},                {"remoteMtaIp", "127.0.0.1"}};
  EXPECT_EQ(delivery::delivery_event(c, 1700000000, "a@b.test", "250 ok"),
            R"({"eventType":"Delivery","mail":{"messageId":"m"},"delivery":)" + expected.dump() + "}");
  auto d = delivery::decide(parse("550 5.1.1 no\r\n"));
  auto b = nlohmann::json::parse(delivery::bounce_event(c, "Permanent", "NoEmail", {{"a@b.test", d}}, "fid"));
  EXPECT_EQ(b["bounce"]["bouncedRecipients"][0]["diagnosticCode"], "smtp; 550 5.1.1 no");
  EXPECT_EQ(b["bounce"]["bouncedRecipients"][0]["action"], "failed");
  EXPECT_EQ(b["bounce"]["reportingMTA"], "dns; mta.test");
  auto t = delivery::decide(parse("452 4.2.2 full\r\n"));
  auto w = nlohmann::json::parse(delivery::delay_event(c, t.delay_type, 1700050400, {{"a@b.test", t}}));
  EXPECT_EQ(w["deliveryDelay"]["delayType"], "MailboxFull");
  EXPECT_EQ(w["deliveryDelay"]["delayedRecipients"][0]["status"], "4.2.2");
  EXPECT_EQ(w["deliveryDelay"]["expirationTime"], "2023-11-15T12:13:20.000Z");
}

TEST(Outcome, RepliesThatAreNotUtf8StillMakeEvents) {
  // A remote MX may answer in Latin-1 (or garbage): the event is still written, with U+FFFD.
  delivery::EventContext c;
  c.mail_json = R"({"messageId":"m"})";
  c.now = 1700000001;
  auto ok = parse("250 2.0.0 re\xE7u\r\n");
  auto e = nlohmann::json::parse(delivery::delivery_event(c, 1700000000, "a@b.test", ok.text()));
  EXPECT_EQ(e["delivery"]["smtpResponse"], "250 2.0.0 re\xEF\xBF\xBDu");
  auto d = delivery::decide(parse("550 5.1.1 inconnu \xFF\xFE\r\n"));
  auto b = nlohmann::json::parse(delivery::bounce_event(c, "Permanent", "NoEmail", {{"a@b.test", d}}, "fid"));
  EXPECT_EQ(b["bounce"]["bouncedRecipients"][0]["diagnosticCode"], "smtp; 550 5.1.1 inconnu \xEF\xBF\xBD\xEF\xBF\xBD");
  auto t = delivery::decide(parse("451 4.3.0 r\xE9" "essayez\r\n"));
  auto w = nlohmann::json::parse(delivery::delay_event(c, t.delay_type, 1700050400, {{"a@b.test", t}}));
  EXPECT_EQ(w["deliveryDelay"]["delayedRecipients"][0]["diagnosticCode"], "smtp; 451 4.3.0 r\xEF\xBF\xBD" "essayez");
}

TEST(Dsn, Rfc3464Structure) {
  mime::Dsn d;
  d.from = "MAILER-DAEMON@bounce.test";
  d.to = "sender@example.test";
  d.reporting_mta = "mta.test";
  d.message_id = "id@bounce.test";
  d.original_headers = "From: sender@example.test\r\nSubject: hi\r\n";
  d.arrival = d.now = 1700000000;
  d.recipients.push_back({"rcpt@sink.test", "5.1.1", "mx.sink.test", "550 5.1.1 no such user\r\nInjected: yes"});
  std::string m = mime::build_dsn(d);
  EXPECT_NE(m.find("report-type=delivery-status"), std::string::npos);
  EXPECT_NE(m.find("Final-Recipient: rfc822; rcpt@sink.test\r\n"), std::string::npos);
  EXPECT_NE(m.find("Status: 5.1.1\r\n"), std::string::npos);
  EXPECT_NE(m.find("Diagnostic-Code: smtp; 550 5.1.1 no such user  Injected: yes\r\n"), std::string::npos);
  EXPECT_EQ(m.find("\r\nInjected:"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: text/rfc822-headers\r\n\r\nFrom: sender@example.test"), std::string::npos);
}

}  // namespace
}  // namespace sesame

namespace sesame::delivery {
namespace {
TEST(MailboxSimulator, AnswersByLocalPart) {
  EXPECT_EQ(simulate("success@simulator.amazonses.com").kind, Decision::kDelivered);
  EXPECT_EQ(simulate("Success+label@simulator.amazonses.com").kind, Decision::kDelivered);
  EXPECT_TRUE(simulate("complaint@simulator.amazonses.com").complaint);
  EXPECT_FALSE(simulate("ooto@simulator.amazonses.com").complaint);
  Decision b = simulate("bounce@simulator.amazonses.com");
  EXPECT_EQ(b.kind, Decision::kBounced);
  EXPECT_EQ(b.bounce_type, "Permanent");
  EXPECT_EQ(b.bounce_subtype, "General");
  EXPECT_EQ(simulate("suppressionlist@simulator.amazonses.com").bounce_subtype, "OnAccountSuppressionList");
  EXPECT_EQ(simulate("nobody@simulator.amazonses.com").kind, Decision::kBounced);
}
}  // namespace
}  // namespace sesame::delivery
