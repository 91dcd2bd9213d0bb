// SNS-style webhooks over a real SQLite store with a recording HTTP function: the signed
// request's shape, FIFO per subscription across failures, backoff, retention, and the
// publisher queueing one notification per confirmed subscriber with the cursor move.
#include "events/webhooks.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/encoding.hpp"
#include "events/publisher.hpp"
#include "support/fakes.hpp"

namespace sesame::events {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

/// An RSA key and a self-signed certificate, written as PEM files.
void make_key_and_cert(const std::string& key_file, const std::string& cert_file) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("sns.test"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  X509_sign(cert, key, EVP_sha256());
  FILE* k = std::fopen(key_file.c_str(), "w");
  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
  FILE* c = std::fopen(cert_file.c_str(), "w");
  PEM_write_X509(c, cert);
  std::fclose(c);
  X509_free(cert);
  EVP_PKEY_free(key);
}

/// Verifies a base64 signature of `text` with the certificate's public key.
bool verifies(const std::string& cert_pem, const std::string& text, const std::string& signature, int version) {
  BIO* b = BIO_new_mem_buf(cert_pem.data(), int(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  EVP_PKEY* pub = X509_get_pubkey(cert);
  auto sig = base::base64_decode(signature);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = sig && EVP_DigestVerifyInit(ctx, nullptr, version == 2 ? EVP_sha256() : EVP_sha1(), nullptr, pub) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                             reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pub);
  X509_free(cert);
  return ok;
}

class WebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = sesame::testing::fresh_test_dir("sesame-webhooks-");
    auto s = store::open_sqlite({(dir_ / "t.db").string(), true});
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s.value());
    make_key_and_cert((dir_ / "key.pem").string(), (dir_ / "cert.pem").string());
    auto signer = SnsSigner::load((dir_ / "key.pem").string(), (dir_ / "cert.pem").string());
    ASSERT_TRUE(signer.ok()) << signer.error().message;
    signer_ = std::move(signer.value());
    clock_.set(1'700'000'000);
    options_.public_url = "http://sesame.test:4579/";
    options_.max_backoff_seconds = 8;
    options_.retention_seconds = 86400;
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  HttpPost recorder() {
    return [this](const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                  const std::string& body, double) {
      posts_.push_back({url, headers, body});
      if (down_) return PostResult{0, "connection refused"};
      return PostResult{status_, ""};
    };
  }
  void queue(const std::vector<store::WebhookDelivery>& ds) {
    ASSERT_TRUE(store_->write([&](store::Txn& t) -> base::Status {
                  for (const auto& d : ds) SESAME_CHECK(t.insert_webhook(d));
                  return base::ok_status();
                }).ok());
  }
  std::size_t queued() {
    std::size_t n = 0;
    auto subs = store_->webhook_subscriptions();
    if (!subs.ok()) return SIZE_MAX;
    const std::vector<std::string> list = subs.value();
    for (const auto& s : list) {
      auto rows = store_->webhooks_of(s, 0, 1000);
      if (rows.ok()) n += rows.value().size();
    }
    return n;
  }
  struct Post {
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  static std::string header(const Post& p, const std::string& name) {
    for (const auto& [k, v] : p.headers)
      if (k == name) return v;
    return {};
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<SnsSigner> signer_;
  sesame::testing::FakeClock clock_;
  WebhookOptions options_;
  std::vector<Post> posts_;
  bool down_ = false;
  int status_ = 200;
  Topic topic_{"arn:aws:sns:us-east-1:111111111111:t", 2,
               {{"arn:aws:sns:us-east-1:111111111111:t:a", "http://hooks.test/a", false},
                {"arn:aws:sns:us-east-1:111111111111:t:b", "http://hooks.test/b", true}}};
};

TEST_F(WebhooksTest, NotificationsAreSignedInSnsShape) {
  std::string id;
  queue(sns_notifications(topic_, "Amazon SES Email Event Notification", R"({"eventType":"Send"})", clock_.now(), &id));
  WebhookDeliverer d(*store_, clock_, *signer_, recorder(), options_);
  EXPECT_EQ(d.deliver_once(), 2u);
  ASSERT_EQ(posts_.size(), 2u);
  EXPECT_EQ(queued(), 0u);
  const Post& a = posts_[0].url == "http://hooks.test/a" ? posts_[0] : posts_[1];
  const Post& raw = posts_[0].url == "http://hooks.test/a" ? posts_[1] : posts_[0];
  EXPECT_EQ(header(a, "x-amz-sns-message-type"), "Notification");
  EXPECT_EQ(header(a, "x-amz-sns-message-id"), id);
  EXPECT_EQ(header(a, "x-amz-sns-subscription-arn"), "arn:aws:sns:us-east-1:111111111111:t:a");
  auto body = nlohmann::ordered_json::parse(a.body);
  std::vector<std::string> keys;
  for (const auto& [k, v] : body.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
                                            "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"}));
  EXPECT_EQ(body["MessageId"], id);
  EXPECT_EQ(body["Timestamp"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(body["SigningCertURL"], "http://sesame.test:4579/_sesame/sns/" + signer_->certificate_name());
  EXPECT_EQ(body["UnsubscribeURL"],
            "http://sesame.test:4579/?Action=Unsubscribe&SubscriptionArn=arn%3Aaws%3Asns%3Aus-east-1%3A111111111111%3At%3Aa");
  const std::string text = "Message\n{\"eventType\":\"Send\"}\nMessageId\n" + id +
                           "\nSubject\nAmazon SES Email Event Notification\nTimestamp\n2023-11-14T22:13:20.000Z\n"
                           "TopicArn\narn:aws:sns:us-east-1:111111111111:t\nType\nNotification\n";
  EXPECT_TRUE(verifies(signer_->certificate_pem(), text, body["Signature"], 2));
  EXPECT_FALSE(verifies(signer_->certificate_pem(), text + "x", body["Signature"], 2));
  // Raw delivery: the message alone, the same headers.
  EXPECT_EQ(raw.body, R"({"eventType":"Send"})");
  EXPECT_EQ(header(raw, "x-amz-sns-message-id"), id);
}

TEST_F(WebhooksTest, ConfirmationsCarryTheSubscribeUrlAndSha1WhenAsked) {
  queue({sns_confirmation("SubscriptionConfirmation", topic_.arn, 1, topic_.subscribers[0], "tok123", clock_.now())});
  WebhookDeliverer d(*store_, clock_, *signer_, recorder(), options_);
  ASSERT_EQ(d.deliver_once(), 1u);
  auto body = json::parse(posts_[0].body);
  EXPECT_EQ(body["Type"], "SubscriptionConfirmation");
  EXPECT_EQ(body["SignatureVersion"], "1");
  EXPECT_EQ(body["SubscribeURL"],
            "http://sesame.test:4579/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A111111111111%3At"
            "&Token=tok123");
  EXPECT_FALSE(body.contains("UnsubscribeURL"));
  EXPECT_EQ(header(posts_[0], "x-amz-sns-subscription-arn"), "");
  std::vector<std::pair<std::string, std::string>> fields;
  for (const char* k : {"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"})
    fields.emplace_back(k, body[k].get<std::string>());
  EXPECT_TRUE(verifies(signer_->certificate_pem(), sns_string_to_sign("SubscriptionConfirmation", fields),
                       body["Signature"], 1));
}

TEST_F(WebhooksTest, AFailureHoldsTheSubscriptionBackInOrderAndRetriesTheSameMessage) {
  Topic one{topic_.arn, 2, {topic_.subscribers[0]}};
  for (int i = 0; i < 3; ++i) queue(sns_notifications(one, "", "m" + std::to_string(i), clock_.now()));
  down_ = true;
  WebhookDeliverer d(*store_, clock_, *signer_, recorder(), options_);
  EXPECT_EQ(d.deliver_once(), 0u);
  ASSERT_EQ(posts_.size(), 1u);  // the first failed: the others wait behind it
  const std::string first_id = json::parse(posts_[0].body)["MessageId"];
  EXPECT_EQ(queued(), 3u);
  // A server error is a failure too; 4xx is an answer (SNS does not retry it).
  down_ = false;
  status_ = 503;
  EXPECT_EQ(d.deliver_once(), 0u);
  status_ = 200;
  EXPECT_EQ(d.deliver_once(), 3u);
  std::vector<std::string> order;
  for (std::size_t i = 2; i < posts_.size(); ++i) order.push_back(json::parse(posts_[i].body)["Message"]);
  EXPECT_EQ(order, (std::vector<std::string>{"m0", "m1", "m2"}));
  EXPECT_EQ(json::parse(posts_[2].body)["MessageId"], first_id);  // the retry is the same message
  EXPECT_EQ(queued(), 0u);
}

TEST_F(WebhooksTest, DeliveriesOlderThanTheRetentionAreDroppedOnFailure) {
  Topic one{topic_.arn, 2, {topic_.subscribers[0]}};
  queue(sns_notifications(one, "", "old", clock_.now()));
  down_ = true;
  WebhookDeliverer d(*store_, clock_, *signer_, recorder(), options_);
  EXPECT_EQ(d.deliver_once(), 0u);
  clock_.advance(86400 + 1);
  EXPECT_EQ(d.deliver_once(), 1u);  // given up, with a warning
  EXPECT_EQ(queued(), 0u);
}

TEST_F(WebhooksTest, TheThreadedDelivererBacksOffAndCatchesUp) {
  Topic one{topic_.arn, 2, {topic_.subscribers[0]}};
  base::SystemClock wall;
  queue(sns_notifications(one, "", "x", wall.now()));
  std::mutex mu;
  int calls = 0;
  bool up = false;
  options_.poll_seconds = 0.01;
  options_.max_backoff_seconds = 0.05;
  WebhookDeliverer d(*store_, wall, *signer_,
                     [&](const std::string&, const auto&, const std::string&, double) {
                       std::lock_guard lk(mu);
                       ++calls;
                       return up ? PostResult{204, ""} : PostResult{0, "refused"};
                     },
                     options_);
  d.start();
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lk(mu);
      if (calls >= 3) up = true;
    }
    if (queued() == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  d.stop();
  EXPECT_EQ(queued(), 0u);
  std::lock_guard lk(mu);
  EXPECT_GE(calls, 4);
  EXPECT_LT(calls, 100);  // backed off, not spinning
}

TEST_F(WebhooksTest, ThePublisherQueuesOneNotificationPerSubscriberWithItsCursor) {
  ASSERT_TRUE(store_->write([&](store::Txn& t) {
                return t.insert_event(store::EventRecord{
                    "111111111111", "us-east-1", "m1", "Send",
                    R"({"eventType":"Send","mail":{"messageId":"m1","tags":{"ses:configuration-set":["cs"]}}})",
                    clock_.now()});
              }).ok());
  PublisherOptions po;
  po.firehose_dir = (dir_ / "firehose").string();
  int woken = 0;
  po.queued_webhooks = [&] { ++woken; };
  po.topics = [&](const std::string&, const std::string&, const std::string& arn) -> base::Result<std::optional<Topic>> {
    if (arn != topic_.arn) return std::optional<Topic>();
    return std::optional<Topic>(topic_);
  };
  Publisher p(*store_, clock_,
              [&](const std::string&, const std::string&, const std::string&) -> base::Result<std::vector<Destination>> {
                Destination d{"sns", true, {"SEND"}, "", false, {}};
                d.sns_topic_arn = topic_.arn;
                return std::vector<Destination>{d};
              },
              po);
  ASSERT_TRUE(p.publish_once().ok());
  EXPECT_EQ(queued(), 2u);
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(store_->cursor("events").value(), 1u);
  ASSERT_TRUE(p.publish_once().ok());
  EXPECT_EQ(queued(), 2u);  // not again
  auto rows = store_->webhooks_of(topic_.subscribers[0].arn, 0, 10).value();
  ASSERT_EQ(rows.size(), 1u);
  auto payload = json::parse(rows[0].payload);
  EXPECT_EQ(payload["Subject"], kEventSubject);
  EXPECT_EQ(json::parse(payload["Message"].get<std::string>())["mail"]["messageId"], "m1");
}

}  // namespace
}  // namespace sesame::events
