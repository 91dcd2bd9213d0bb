// DKIM canonicalization (RFC 6376 §3.4.5 example), tag lists, and sign/verify round trips
// with tampering. tests/e2e/test_dkim_interop.py checks the same signer against dkimpy.
#include "mailauth/dkim/signer.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <unistd.h>

#include <filesystem>

#include "mailauth/dkim/canonicalize.hpp"

namespace sesame::mailauth::dkim {
namespace {

TEST(DkimCanonicalize, Rfc6376Example) {
  std::string msg = "A: X\r\nB : Y\t\r\n Z  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
  std::vector<HeaderField> fields;
  std::string_view body;
  split_message(msg, fields, body);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(relaxed_header(fields[0].name, fields[0].raw_value), "a:X\r\n");
  EXPECT_EQ(relaxed_header(fields[1].name, fields[1].raw_value), "b:Y Z\r\n");
  EXPECT_EQ(relaxed_body(body), " C\r\nD E\r\n");
  EXPECT_EQ(simple_body(body), " C \r\nD \t E\r\n");
  EXPECT_EQ(relaxed_body(""), "");
  EXPECT_EQ(simple_body(""), "\r\n");
  EXPECT_EQ(relaxed_body("a\nb"), "a\r\nb\r\n");  // bare LF as CRLF, final line end added
  EXPECT_EQ(relaxed_body("\n\n\nx\n\n\n"), "\r\n\r\n\r\nx\r\n");  // bare LFs double: the bound
  EXPECT_EQ(relaxed_body(" \t \r\n\r\n"), "");
  EXPECT_EQ(relaxed_body("a  \t b\t\r\n"), "a b\r\n");
}

TEST(DkimTags, ParsesAndRejects) {
  std::map<std::string, std::string> t;
  ASSERT_TRUE(parse_tag_list(" v=1; a=rsa-sha256;\r\n\tb=ab c\r\n\t d=;", t));
  EXPECT_EQ(t["v"], "1");
  EXPECT_EQ(t["b"], "abcd=");
  EXPECT_FALSE(parse_tag_list("v=1; v=2", t));
  EXPECT_FALSE(parse_tag_list("v=1;; a=b", t));
  EXPECT_FALSE(parse_tag_list("novalue", t));
  EXPECT_FALSE(parse_tag_list("1x=y", t));
}

class DkimSign : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sesame-dkim-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    keys_ = std::make_unique<KeyStore>(dir_.string());
    auto pub = keys_->generate("111111111111", "us-east-1", "example.com", "k1", 1024);
    ASSERT_TRUE(pub.ok());
    pub_ = pub.value();
    signer_ = std::make_unique<Signer>(*keys_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string signed_message(const std::string& msg) {
    SignOptions o;
    o.domain = "example.com";
    o.selector = "sel";
    o.now = 1705320000;
    auto sig = signer_->sign(msg, KeyRef{"111111111111", "us-east-1", "example.com", "k1"}, o);
    EXPECT_TRUE(sig.ok());
    return sig.ok() ? sig.value() + msg : msg;
  }

  std::filesystem::path dir_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<Signer> signer_;
  std::string pub_;
};

const char* kMessage =
    "From: Shop <news@example.com>\r\nTo: a@example.net\r\nSubject:  Hello   there\r\n"
    "Date: Mon, 15 Jan 2024 12:00:00 +0000\r\nMessage-ID: <1@example.com>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n\r\nHi  there \r\nline two\r\n\r\n";

TEST_F(DkimSign, RoundTripsAndDetectsTampering) {
  std::string m = signed_message(kMessage);
  EXPECT_NE(m.find("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel;"), std::string::npos);
  EXPECT_NE(m.find("h=from:from:to:subject:date:message-id:mime-version:content-type;"), std::string::npos);
  std::string why;
  EXPECT_EQ(verify_with_key(m, pub_, &why), VerifyResult::kPass) << why;

  // Whitespace changes relaxed canonicalization ignores still verify.
  std::string relaxed = m;
  relaxed.replace(relaxed.find("Subject:  Hello"), 15, "Subject: Hello ");
  EXPECT_EQ(verify_with_key(relaxed, pub_, &why), VerifyResult::kPass) << why;

  std::string body = m;
  body.replace(body.find("line two"), 8, "line 2!!");
  EXPECT_EQ(verify_with_key(body, pub_, &why), VerifyResult::kFail);
  std::string header = m;
  header.replace(header.find("To: a@example.net"), 17, "To: b@example.net");
  EXPECT_EQ(verify_with_key(header, pub_, &why), VerifyResult::kFail);
  // A second From added after signing breaks the over-signed From.
  std::string from2 = m + "";
  from2.insert(from2.find("To: a@"), "From: Evil <evil@example.org>\r\n");
  EXPECT_EQ(verify_with_key(from2, pub_, &why), VerifyResult::kFail);
}

TEST_F(DkimSign, ReusedSigningContextsGiveTheSameSignatureOnEveryThread) {
  // Each thread keeps a signing context per key: the first signature on a thread sets it
  // up, later ones reuse it. PKCS#1 v1.5 is deterministic, so all must be identical.
  const std::string first = signed_message(kMessage), again = signed_message(kMessage);
  EXPECT_EQ(first, again);
  std::string elsewhere;
  std::thread([&] { elsewhere = signed_message(kMessage); }).join();
  EXPECT_EQ(first, elsewhere);
  std::string why;
  EXPECT_EQ(verify_with_key(elsewhere, pub_, &why), VerifyResult::kPass) << why;
}

TEST_F(DkimSign, MissingKeyIsAnError) {
  SignOptions o{"example.com", "sel", 1};
  auto sig = signer_->sign(kMessage, KeyRef{"111111111111", "us-east-1", "example.com", "nope"}, o);
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.error().code, base::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace sesame::mailauth::dkim
