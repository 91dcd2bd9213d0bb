// mime/report: DSNs (standard and non-standard), ARF reports, and hostile input.
#include "mime/report.hpp"
#include "mime/virus.hpp"

#include <gtest/gtest.h>

namespace sesame::mime {
namespace {

const char* kDsn =
    "From: MAILER-DAEMON@mx.example.net\r\n"
    "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"=_b;1\"\r\n\r\n"
    "--=_b;1\r\nContent-Type: text/plain\r\n\r\nsorry\r\n"
    "--=_b;1\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; mx.example.net\r\n\r\n"
    "Final-Recipient: rfc822; A@Example.NET\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 user\r\n  unknown\r\n\r\n"
    "Final-Recipient: rfc822; b@example.net\r\nAction: delayed\r\nStatus: 4.2.2\r\n\r\n"
    "--=_b;1\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <abc@email.amazonses.com>\r\nTo: a@example.net\r\n\r\nx\r\n"
    "--=_b;1--\r\n";

TEST(Report, StandardDsn) {
  auto r = parse_report(kDsn);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().kind, Report::kDsn);
  EXPECT_TRUE(r.value().standard);
  EXPECT_EQ(r.value().reporting_mta, "dns; mx.example.net");
  ASSERT_EQ(r.value().recipients.size(), 2u);
  const auto& a = r.value().recipients[0];
  EXPECT_EQ(a.address, "a@example.net");
  EXPECT_EQ(a.action, "failed");
  EXPECT_EQ(a.status, "5.1.1");
  EXPECT_EQ(a.diagnostic, "smtp; 550 5.1.1 user unknown");
  EXPECT_EQ(r.value().recipients[1].action, "delayed");
  EXPECT_EQ(r.value().original_message_id, "abc@email.amazonses.com");
  EXPECT_EQ(r.value().original_to, (std::vector<std::string>{"a@example.net"}));
}

TEST(Report, Arf) {
  const char* arf =
      "Content-Type: multipart/report; report-type=feedback-report; boundary=\"x\"\r\n\r\n"
      "--x\r\nContent-Type: text/plain\r\n\r\nreport\r\n"
      "--x\r\nContent-Type: message/feedback-report\r\n\r\n"
      "Feedback-Type: Fraud\r\nUser-Agent: FBL/2\r\nVersion: 1\r\nOriginal-Rcpt-To: <C@example.org>\r\n"
      "Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT\r\n\r\n"
      "--x\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <id-1@host>\r\n\r\n--x--\r\n";
  auto r = parse_report(arf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().kind, Report::kArf);
  EXPECT_EQ(r.value().feedback_type, "fraud");
  EXPECT_EQ(r.value().user_agent, "FBL/2");
  EXPECT_EQ(r.value().original_rcpt_to, (std::vector<std::string>{"c@example.org"}));
  EXPECT_EQ(r.value().arrival_date, "Thu, 8 Mar 2005 14:00:00 EDT");
  EXPECT_EQ(r.value().original_message_id, "id-1@host");
}

TEST(Report, NonStandardForms) {
  // DSN fields in a plain body (some MTAs), and qmail's paragraphs.
  auto inline_fields = parse_report("Subject: failure\r\n\r\nFinal-Recipient: rfc822;x@example.com\r\nStatus: 5.2.2\r\n");
  ASSERT_TRUE(inline_fields.ok());
  EXPECT_EQ(inline_fields.value().kind, Report::kDsn);
  EXPECT_FALSE(inline_fields.value().standard);
  ASSERT_EQ(inline_fields.value().recipients.size(), 1u);
  EXPECT_EQ(inline_fields.value().recipients[0].action, "failed");
  auto qmail = parse_report(
      "Subject: failure notice\r\n\r\nHi. This is the qmail-send program.\r\n\r\n<q@example.com>:\r\n"
      "Remote host said: 550 sorry, no mailbox here by that name\r\n\r\n<t@example.com>:\r\n"
      "Remote host said: 452 4.2.2 mailbox full\r\n\r\n");
  ASSERT_TRUE(qmail.ok());
  ASSERT_EQ(qmail.value().recipients.size(), 2u);
  EXPECT_EQ(qmail.value().recipients[0].status, "5.0.0");
  EXPECT_EQ(qmail.value().recipients[0].action, "failed");
  EXPECT_EQ(qmail.value().recipients[1].status, "4.2.2");
  EXPECT_EQ(qmail.value().recipients[1].action, "delayed");
  // An automatic reply reports nothing, whatever its body says.
  auto ooto = parse_report("Auto-Submitted: auto-replied\r\n\r\n<q@example.com>:\r\n550 no\r\n");
  ASSERT_TRUE(ooto.ok());
  EXPECT_EQ(ooto.value().kind, Report::kNone);
  EXPECT_TRUE(ooto.value().auto_reply);
}

TEST(Report, HostileInput) {
  EXPECT_FALSE(parse_report(std::string("Subject: x\r\n\r\n\0", 15)).ok());  // NUL
  ReportLimits small;
  small.max_bytes = 100;
  EXPECT_FALSE(parse_report(std::string(200, 'a'), small).ok());
  // Many recipients are capped; junk fields and a missing boundary report nothing.
  std::string many = "Content-Type: multipart/report; boundary=z\r\n\r\n--z\r\nContent-Type: message/delivery-status\r\n\r\n";
  for (int i = 0; i < 500; ++i) many += "Final-Recipient: rfc822;u" + std::to_string(i) + "@e.com\r\nStatus: 5.0.0\r\n\r\n";
  auto r = parse_report(many);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().recipients.size(), 100u);
  auto nob = parse_report("Content-Type: multipart/report\r\n\r\n--\r\nFinal-Recipient: x\r\n");
  ASSERT_TRUE(nob.ok());
  EXPECT_EQ(nob.value().kind, Report::kNone);
  auto bad = parse_report("Content-Type: text/plain\r\n\r\nFinal-Recipient: rfc822; <\r\n\x7f@x>\r\nStatus: 9.9\r\n");
  ASSERT_TRUE(bad.ok());
  EXPECT_TRUE(bad.value().recipients.empty() || bad.value().recipients[0].status.empty());
}

TEST(Virus, FindsTheEicarTestFileRawOrInBase64Parts) {
  const std::string eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  EXPECT_TRUE(carries_test_virus("Subject: x\r\n\r\n" + eicar + "\r\n"));
  std::string b64 = "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNU\r\nLUZJTEUhJEgrSCo=\r\n";
  const std::string multipart =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
      "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: BASE64\r\n\r\n" + b64 + "--b--\r\n";
  EXPECT_TRUE(carries_test_virus(multipart));
  std::string clean = multipart;
  clean.replace(clean.find("WDVP"), 4, "QUFB");
  EXPECT_FALSE(carries_test_virus(clean));
  EXPECT_FALSE(carries_test_virus("Subject: EICAR\r\n\r\nthe EICAR test file is not here\r\n"));
  // Runs of the pattern's own characters, and the file at the very start and end.
  const std::string xs(1 << 20, 'X');
  EXPECT_FALSE(carries_test_virus("Subject: x\r\n\r\n" + xs + "\r\n"));
  EXPECT_TRUE(carries_test_virus("Subject: x\r\n\r\n" + xs + eicar));
  EXPECT_TRUE(carries_test_virus(eicar + xs));
  EXPECT_FALSE(carries_test_virus(eicar.substr(0, eicar.size() - 1) + "X" + xs));
}

}  // namespace
}  // namespace sesame::mime
