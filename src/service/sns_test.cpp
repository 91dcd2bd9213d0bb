// The SNS-compatible API's handlers over a real store with a settable clock: what a
// subscription becomes when it is never confirmed (SNS removes it after three days).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "service/documents.hpp"
#include "service/sns.hpp"
#include "support/fakes.hpp"

namespace sesame::service {
namespace {

class SnsApi : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = sesame::testing::fresh_test_dir("sesame-sns-");
    store_ = std::move(store::open_sqlite({(dir_ / "t.db").string(), false}).value());
    keys_ = std::make_unique<mailauth::dkim::KeyStore>((dir_ / "dkim").string());
    services_ = std::unique_ptr<Services>(new Services{*store_, clock_, resolver_, *keys_, Settings{}});
    clock_.set(1'700'000'000);
    register_sns(table_, *services_);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  base::Result<json> call(const std::string& op, const json& in) { return (*table_.find(Api::kSns, op))(caller_, in); }
  std::size_t queued(const std::string& subscription) {
    auto rows = store_->webhooks_of(subscription, 0, 100);
    return rows.ok() ? rows.value().size() : 0;
  }

  std::filesystem::path dir_;
  sesame::testing::FakeClock clock_;
  sesame::testing::StaticResolver resolver_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<mailauth::dkim::KeyStore> keys_;
  std::unique_ptr<Services> services_;
  HandlerTable table_;
  Caller caller_{"123456789012", "us-east-1", "AKIAEXAMPLE", ""};
};

TEST_F(SnsApi, AnUnconfirmedSubscriptionIsGoneAfterThreeDays) {
  const std::string topic = call("CreateTopic", json{{"Name", "t"}}).value()["TopicArn"];
  json sub{{"TopicArn", topic}, {"Protocol", "https"}, {"Endpoint", "https://hooks.example/x"},
           {"ReturnSubscriptionArn", true}};
  const std::string arn = call("Subscribe", sub).value()["SubscriptionArn"];
  EXPECT_EQ(queued(arn), 1u);  // the SubscriptionConfirmation
  auto listed = call("ListSubscriptionsByTopic", json{{"TopicArn", topic}}).value();
  ASSERT_EQ(listed["Subscriptions"].size(), 1u);
  EXPECT_EQ(listed["Subscriptions"][0]["SubscriptionArn"], "PendingConfirmation");
  EXPECT_EQ(call("GetTopicAttributes", json{{"TopicArn", topic}}).value()["Attributes"]["SubscriptionsPending"], "1");

  clock_.advance(3 * 86400 + 1);
  EXPECT_TRUE(call("ListSubscriptionsByTopic", json{{"TopicArn", topic}}).value()["Subscriptions"].empty());
  EXPECT_EQ(call("GetTopicAttributes", json{{"TopicArn", topic}}).value()["Attributes"]["SubscriptionsPending"], "0");
  auto attrs = call("GetSubscriptionAttributes", json{{"SubscriptionArn", arn}});
  ASSERT_FALSE(attrs.ok());
  EXPECT_EQ(attrs.error().code, base::ErrorCode::kNotFound);
  // Subscribing the endpoint again starts afresh: a new subscription and confirmation;
  // the stale one and anything still queued for it are removed.
  const std::string again = call("Subscribe", sub).value()["SubscriptionArn"];
  EXPECT_NE(again, arn);
  EXPECT_EQ(queued(arn), 0u);
  EXPECT_EQ(queued(again), 1u);
  Documents docs(*services_);
  EXPECT_EQ(docs.all(caller_, kind::kSnsSubscription).value().size(), 1u);
}

TEST_F(SnsApi, AConfirmedSubscriptionDoesNotExpire) {
  const std::string topic = call("CreateTopic", json{{"Name", "t"}}).value()["TopicArn"];
  call("Subscribe", json{{"TopicArn", topic}, {"Protocol", "http"}, {"Endpoint", "http://hooks.example/y"}}).value();
  Documents docs(*services_);
  const json doc = docs.all(caller_, kind::kSnsSubscription).value().at(0).doc;
  ASSERT_TRUE(call("ConfirmSubscription", json{{"TopicArn", topic}, {"Token", doc["Token"]}}).ok());
  clock_.advance(30 * 86400);
  auto listed = call("ListSubscriptionsByTopic", json{{"TopicArn", topic}}).value();
  ASSERT_EQ(listed["Subscriptions"].size(), 1u);
  EXPECT_EQ(listed["Subscriptions"][0]["SubscriptionArn"], doc["SubscriptionArn"]);
}

}  // namespace
}  // namespace sesame::service
