// The event publisher over a real SQLite store: events reach the matching Firehose-style
// files in commit order, the cursor moves only after the records are on disk, a lookup
// that cannot tell stops the pass without losing anything, and a restart resumes.
#include "events/publisher.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/fakes.hpp"

namespace sesame::events {
namespace {
namespace fs = std::filesystem;

class PublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = sesame::testing::fresh_test_dir("sesame-events-");
    auto s = store::open_sqlite({(dir_ / "t.db").string(), true});
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s.value());
    options_.firehose_dir = (dir_ / "firehose").string();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void add_event(const std::string& id, const std::string& type, const std::string& set) {
    std::string tags = set.empty() ? "{}" : R"({"ses:configuration-set":[")" + set + R"("]})";
    std::string body = R"({"eventType":")" + type + R"(","mail":{"messageId":")" + id + R"(","tags":)" + tags + "}}";
    ASSERT_TRUE(store_->write([&](store::Txn& t) {
                  return t.insert_event(store::EventRecord{"111111111111", "us-east-1", id, type, body, clock_.now()});
                }).ok());
  }
  /// Every line of every file under the stream's directory, in file-name order.
  std::vector<std::string> lines(const std::string& stream) {
    std::vector<fs::path> files;
    if (fs::exists(dir_ / "firehose" / stream))
      for (const auto& e : fs::recursive_directory_iterator(dir_ / "firehose" / stream))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<std::string> out;
    for (const auto& f : files) {
      std::ifstream in(f);
      for (std::string l; std::getline(in, l);) out.push_back(l);
    }
    return out;
  }
  DestinationLookup lookup() {
    return [this](const std::string&, const std::string&, const std::string& set) -> base::Result<std::vector<Destination>> {
      ++lookups_;
      if (fail_lookups_) return base::make_error(base::ErrorCode::kUnavailable, "database busy");
      if (set != "news") return std::vector<Destination>{};
      return std::vector<Destination>{Destination{"all", true, {"SEND", "DELIVERY", "RENDERING_FAILURE"}, "stream-a"},
                                      Destination{"bounces", true, {"BOUNCE"}, "stream-b"},
                                      Destination{"off", false, {"SEND"}, "stream-c"}};
    };
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  sesame::testing::FakeClock clock_;
  PublisherOptions options_;
  int lookups_ = 0;
  bool fail_lookups_ = false;
};

TEST(EventNames, MatchingTypesAndStreams) {
  EXPECT_EQ(matching_type("Send"), "SEND");
  EXPECT_EQ(matching_type("DeliveryDelay"), "DELIVERY_DELAY");
  EXPECT_EQ(matching_type("Rendering Failure"), "RENDERING_FAILURE");
  EXPECT_EQ(stream_name("arn:aws:firehose:us-east-1:111111111111:deliverystream/ses-events"), "ses-events");
  EXPECT_EQ(stream_name("arn:aws:firehose:us-east-1:1:deliverystream/../../etc"), "....etc");
  EXPECT_EQ(stream_name("arn:aws:firehose:us-east-1:1:deliverystream/.."), "");
  EXPECT_EQ(stream_name("not an arn"), "");
}

TEST_F(PublisherTest, PublishesMatchingEventsInOrderAndResumes) {
  add_event("m1", "Send", "news");
  add_event("m1", "Delivery", "news");
  add_event("m2", "Bounce", "news");
  add_event("m3", "Send", "");       // no configuration set: nothing to publish
  add_event("m4", "Send", "other");  // a set without destinations
  add_event("m5", "Rendering Failure", "news");
  {
    Publisher p(*store_, clock_, lookup(), options_);
    auto n = p.publish_once();
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(n.value(), 6u);
    EXPECT_EQ(p.publish_once().value(), 0u);
  }
  auto a = lines("stream-a");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_NE(a[0].find(R"("eventType":"Send")"), std::string::npos);
  EXPECT_NE(a[1].find(R"("eventType":"Delivery")"), std::string::npos);
  EXPECT_NE(a[2].find(R"("eventType":"Rendering Failure")"), std::string::npos);
  EXPECT_EQ(lines("stream-b").size(), 1u);
  EXPECT_TRUE(lines("stream-c").empty());  // disabled
  EXPECT_EQ(store_->cursor("events").value(), 6u);
  // A new publisher (a restart) starts after the cursor: nothing is published twice.
  add_event("m6", "Send", "news");
  Publisher again(*store_, clock_, lookup(), options_);
  EXPECT_EQ(again.publish_once().value(), 1u);
  EXPECT_EQ(lines("stream-a").size(), 4u);
}

TEST_F(PublisherTest, ALookupThatCannotTellKeepsTheCursor) {
  add_event("m1", "Send", "news");
  Publisher p(*store_, clock_, lookup(), options_);
  fail_lookups_ = true;
  EXPECT_FALSE(p.publish_once().ok());
  EXPECT_EQ(store_->cursor("events").value(), 0u);
  EXPECT_TRUE(lines("stream-a").empty());
  fail_lookups_ = false;
  EXPECT_EQ(p.publish_once().value(), 1u);
  EXPECT_EQ(lines("stream-a").size(), 1u);
}

TEST_F(PublisherTest, AFailingStreamDelaysOnlyItselfAndCatchesUp) {
  add_event("m1", "Send", "news");    // stream-a
  add_event("m2", "Bounce", "news");  // stream-b
  // stream-a cannot be written: a file stands where its directory would be.
  fs::create_directories(dir_ / "firehose");
  std::ofstream(dir_ / "firehose" / "stream-a") << "in the way";
  {
    Publisher p(*store_, clock_, lookup(), options_);
    auto n = p.publish_once();
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(lines("stream-b").size(), 1u);  // not held up
    EXPECT_EQ(store_->cursor("events").value(), 2u);
    EXPECT_EQ(store_->cursor("firehose:stream-a").value(), 0u);
  }
  // A restart remembers that stream-a is behind; it catches up once it can write, and
  // nothing is written twice elsewhere.
  add_event("m3", "Send", "news");
  fs::remove(dir_ / "firehose" / "stream-a");
  Publisher again(*store_, clock_, lookup(), options_);
  ASSERT_TRUE(again.publish_once().ok());
  auto a = lines("stream-a");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_NE(a[0].find("\"m1\""), std::string::npos);
  EXPECT_NE(a[1].find("\"m3\""), std::string::npos);
  EXPECT_EQ(lines("stream-b").size(), 1u);
  EXPECT_GT(store_->cursor("firehose:stream-a").value(), 3u);  // follows the global cursor again
  add_event("m4", "Send", "news");
  Publisher third(*store_, clock_, lookup(), options_);
  ASSERT_TRUE(third.publish_once().ok());
  EXPECT_EQ(lines("stream-a").size(), 3u);
}

TEST_F(PublisherTest, AFailingStreamWaitsForItsBackoff) {
  add_event("m1", "Send", "news");
  fs::create_directories(dir_ / "firehose");
  std::ofstream(dir_ / "firehose" / "stream-a") << "in the way";
  Publisher p(*store_, clock_, lookup(), options_);
  ASSERT_TRUE(p.publish_once().ok());
  fs::remove(dir_ / "firehose" / "stream-a");
  EXPECT_EQ(p.publish_once().value(), 0u);  // within its backoff: not retried yet
  EXPECT_TRUE(lines("stream-a").empty());
  clock_.advance(1.5);
  EXPECT_EQ(p.publish_once().value(), 1u);
  EXPECT_EQ(lines("stream-a").size(), 1u);
}

TEST_F(PublisherTest, FilesRotateBySize) {
  options_.rotate_bytes = 200;
  for (int i = 0; i < 10; ++i) add_event("m" + std::to_string(i), "Send", "news");
  Publisher p(*store_, clock_, lookup(), options_);
  ASSERT_TRUE(p.publish_once().ok());
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "firehose" / "stream-a")) files += e.is_regular_file();
  EXPECT_GT(files, 3u);
  EXPECT_EQ(lines("stream-a").size(), 10u);
}

TEST_F(PublisherTest, CloudWatchDestinationsCountWithTheirDimensions) {
  auto cw = [this](const std::string&, const std::string&, const std::string&) -> base::Result<std::vector<Destination>> {
    if (fail_lookups_) return base::make_error(base::ErrorCode::kUnavailable, "busy");
    Destination d{"cw", true, {"SEND"}, "", true,
                  {Dimension{"campaign", "MESSAGE_TAG", "none"}, Dimension{"X-Kind", "EMAIL_HEADER", "plain"}}};
    return std::vector<Destination>{d};
  };
  auto add = [&](const std::string& id, const std::string& tags, const std::string& headers) {
    std::string body = R"({"eventType":"Send","mail":{"messageId":")" + id + R"(","headers":)" + headers +
                       R"(,"tags":{"ses:configuration-set":["news"])" + tags + "}}}";
    ASSERT_TRUE(store_->write([&](store::Txn& t) {
                  return t.insert_event(store::EventRecord{"111111111111", "us-east-1", id, "Send", body, clock_.now()});
                }).ok());
  };
  add("m1", R"(,"campaign":["spring"])", R"([{"name":"x-kind","value":"promo \"big\""}])");
  add("m2", R"(,"campaign":["spring"])", R"([{"name":"x-kind","value":"promo \"big\""}])");
  add("m3", "", "[]");
  Publisher p(*store_, clock_, cw, options_);
  ASSERT_TRUE(p.publish_once().ok());
  const std::string m = p.metrics();
  EXPECT_NE(m.find("# TYPE ses_events_total counter"), std::string::npos);
  EXPECT_NE(m.find(R"(ses_events_total{account="111111111111",region="us-east-1",configuration_set="news",destination="cw",)"
                   R"(event_type="Send",campaign="spring",X_Kind="promo \"big\""} 2)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(campaign="none",X_Kind="plain"} 1)"), std::string::npos) << m;
  // A pass that fails counts nothing (the retry will).
  add("m4", "", "[]");
  fail_lookups_ = true;
  EXPECT_FALSE(p.publish_once().ok());
  EXPECT_NE(p.metrics().find(R"(X_Kind="plain"} 1)"), std::string::npos);
  fail_lookups_ = false;
  ASSERT_TRUE(p.publish_once().ok());
  EXPECT_NE(p.metrics().find(R"(X_Kind="plain"} 2)"), std::string::npos);
}

TEST_F(PublisherTest, TheThreadPublishesAndStopFlushes) {
  options_.poll_seconds = 0.01;
  Publisher p(*store_, clock_, lookup(), options_);
  ASSERT_TRUE(p.start().ok());
  add_event("m1", "Send", "news");
  for (int i = 0; i < 300 && lines("stream-a").empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(lines("stream-a").size(), 1u);
  add_event("m2", "Send", "news");
  p.stop();
  EXPECT_EQ(lines("stream-a").size(), 2u);
}

}  // namespace
}  // namespace sesame::events
