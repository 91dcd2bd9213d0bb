// Identity semantics with a static resolver and a fake clock: normalization, DNS
// verification through the TXT token and the DKIM selectors, the 72-hour window,
// and "could not tell" becoming TemporaryFailure.
#include "service/identity.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "support/fakes.hpp"

namespace sesame::service {
namespace {

TEST(Identity, Normalizes) {
  EXPECT_EQ(identity::normalize("User@Example.COM").value(), "User@example.com");
  EXPECT_EQ(identity::normalize("Example.com.").value(), "example.com");
  EXPECT_FALSE(identity::normalize("no spaces@example.com").ok());
  EXPECT_FALSE(identity::normalize("@example.com").ok());
  EXPECT_FALSE(identity::normalize("a@nodot").ok());
  EXPECT_FALSE(identity::normalize("-bad.com").ok());
  EXPECT_FALSE(identity::normalize(std::string(300, 'a') + ".com").ok());
}

class IdentityDns : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sesame-identity-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = std::move(store::open_sqlite({(dir_ / "t.db").string(), false}).value());
    keys_ = std::make_unique<mailauth::dkim::KeyStore>((dir_ / "dkim").string());
    services_ = std::unique_ptr<Services>(new Services{*store_, clock_, resolver_, *keys_, Settings{72 * 3600, 0}});
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  testing::FakeClock clock_;
  testing::StaticResolver resolver_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<mailauth::dkim::KeyStore> keys_;
  std::unique_ptr<Services> services_;
  Caller caller_{"123456789012", "us-east-1", "", ""};
};

TEST_F(IdentityDns, TokenMovesPendingToSuccess) {
  json doc = identity::new_document(true, clock_.now());
  doc["verification"]["token"] = "tok";
  doc["verification"]["started"] = clock_.now();
  EXPECT_FALSE(identity::recheck(*services_, "example.com", doc, clock_.now()));  // still PENDING: nothing to persist
  EXPECT_EQ(identity::verification_status(doc), "PENDING");
  resolver_.txt_records["_amazonses.example.com"] = "tok";
  EXPECT_TRUE(identity::recheck(*services_, "example.com", doc, clock_.now()));
  EXPECT_EQ(identity::verification_status(doc), "SUCCESS");
  EXPECT_TRUE(identity::verified_for_sending(doc));
}

TEST_F(IdentityDns, FailsAfterTheWindowAndTempFailsOnDnsErrors) {
  json doc = identity::new_document(true, clock_.now());
  doc["verification"]["token"] = "tok";
  doc["verification"]["started"] = clock_.now();
  resolver_.temp_fail["_amazonses.example.com"] = true;
  identity::recheck(*services_, "example.com", doc, clock_.now());
  EXPECT_EQ(identity::verification_status(doc), "TEMPORARY_FAILURE");
  resolver_.temp_fail.clear();
  clock_.advance(72 * 3600 + 1);
  identity::recheck(*services_, "example.com", doc, clock_.now());
  EXPECT_EQ(identity::verification_status(doc), "FAILED");
}

TEST_F(IdentityDns, DkimSelectorsMustCarryOurKey) {
  json doc = identity::new_document(true, clock_.now());
  ASSERT_TRUE(identity::setup_easy_dkim(*services_, caller_, "example.com", doc, 1024).ok());
  auto records = identity::records("example.com", doc, services_->settings);
  ASSERT_EQ(records.size(), 3u);
  // Two of three published, one with a wrong key: still pending.
  resolver_.txt_records[records[0].name] = records[0].value;
  resolver_.txt_records[records[1].name] = records[1].value;
  resolver_.txt_records[records[2].name] = "v=DKIM1; k=rsa; p=AAAA";
  identity::recheck(*services_, "example.com", doc, clock_.now());
  EXPECT_EQ(identity::dkim_status(doc), "PENDING");
  resolver_.txt_records[records[2].name] = records[2].value;
  identity::recheck(*services_, "example.com", doc, clock_.now());
  EXPECT_EQ(identity::dkim_status(doc), "SUCCESS");
  EXPECT_EQ(identity::verification_status(doc), "SUCCESS");
  // The private key lives in a 0600 file under the key directory.
  std::string path = keys_->path_for(caller_.account_id, caller_.region, "example.com", doc["dkim"]["key_id"]);
  auto perms = std::filesystem::status(path).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  identity::forget_keys(*services_, caller_, "example.com", doc);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(IdentityDns, EmailStaysPendingUntilOperatorVerifies) {
  json doc = identity::new_document(false, clock_.now());
  identity::recheck(*services_, "a@example.com", doc, clock_.now());
  EXPECT_EQ(identity::verification_status(doc), "PENDING");
  identity::force_verified(doc, clock_.now());
  EXPECT_EQ(identity::verification_status(doc), "SUCCESS");
}

}  // namespace
}  // namespace sesame::service

namespace sesame::service {
namespace {

TEST_F(IdentityDns, MailFromNeedsAnMxToThisHost) {
  services_->settings.hostname = "mail.sesame.test";
  json doc = identity::new_document(true, clock_.now());
  doc["mail_from"] = json{{"domain", "bounce.example.com"}, {"status", "PENDING"}, {"started", clock_.now()}};
  auto records = identity::records("example.com", doc, services_->settings);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].type, "MX");
  EXPECT_EQ(records[0].value, "10 mail.sesame.test");
  resolver_.mx_records["bounce.example.com"] = "elsewhere.example.net";
  identity::recheck(*services_, "example.com", doc, clock_.now());
  EXPECT_EQ(doc["mail_from"]["status"], "PENDING");
  resolver_.mx_records["bounce.example.com"] = "Mail.Sesame.Test.";
  identity::recheck(*services_, "example.com", doc, clock_.now());
  EXPECT_EQ(doc["mail_from"]["status"], "SUCCESS");
}

}  // namespace
}  // namespace sesame::service

namespace sesame::service {
namespace {
TEST(CheckTimes, ThrottlesPerKey) {
  CheckTimes t;
  EXPECT_TRUE(t.due("a", 100, 10));
  EXPECT_FALSE(t.due("a", 105, 10));
  EXPECT_TRUE(t.due("b", 105, 10));
  EXPECT_TRUE(t.due("a", 111, 10));
}
}  // namespace
}  // namespace sesame::service
