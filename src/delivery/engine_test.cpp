// The delivery engine on a real store, with SES's mailbox simulator as the destination (no
// network): a job that throws does not end the server, the other jobs go on, and its
// recipients are deferred with their attempts counted, then bounce when time is up.
#include "delivery/engine.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "base/clock.hpp"
#include "dns/resolver.hpp"
#include "store/store.hpp"

namespace sesame::delivery {
namespace {

/// The simulator's outcomes need no DNS; any lookup is answered "temporarily failed".
class NoDns final : public dns::Resolver {
 public:
  dns::TxtAnswer txt(const std::string&) override { return {}; }
  dns::MxAnswer mx(const std::string&) override { return {}; }
  dns::AddressAnswer addresses(const std::string&) override { return {}; }
};

store::MessageRecord message(const std::string& id, const std::string& meta) {
  store::MessageRecord m;
  m.id = id;
  m.account = "111111111111";
  m.region = "us-east-1";
  m.accepted = base::SystemClock().now();
  m.envelope_from = "sender@example.com";
  m.recipients = {"success@simulator.amazonses.com"};
  m.meta = meta;
  m.raw = "From: sender@example.com\r\nTo: success@simulator.amazonses.com\r\nSubject: hi\r\n\r\nhello\r\n";
  m.mail = R"({"messageId":")" + id + R"("})";
  return m;
}

TEST(Engine, AJobThatThrowsIsDeferredThenBouncesAndTheOthersGoOn) {
  const auto dir = std::filesystem::temp_directory_path() / ("sesame-engine-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto opened = store::open_sqlite({(dir / "t.db").string(), false});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    auto& st = *opened.value();
    // Records this version cannot read (the delivery options' return path is not a string:
    // nlohmann's value() throws type_error), queued before a good one. One was accepted 15
    // hours ago: past SES's default delivery time of 14 hours.
    const std::string bad_meta = R"({"delivery":{"return_path":5}})";
    ASSERT_TRUE(st.write([&](store::Txn& t) { return t.insert_message(message("bad-meta", bad_meta)); }).ok());
    store::MessageRecord old = message("bad-expired", bad_meta);
    old.accepted -= 15 * 3600;
    ASSERT_TRUE(st.write([&](store::Txn& t) { return t.insert_message(old); }).ok());
    ASSERT_TRUE(st.write([](store::Txn& t) {
                    return t.insert_message(message("good", R"({"delivery":{"return_path":"bounce@example.com"}})"));
                  }).ok());
    NoDns dns;
    base::SystemClock clock;
    EngineOptions o;
    o.helo_name = o.bounce_domain = "mta.example.com";
    std::map<std::string, std::string> seen;  // "message type" -> body
    {
      Engine engine(st, dns, clock, o);
      ASSERT_TRUE(engine.start().ok());
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (seen.size() < 3 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        auto events = st.events_after(0, 100);
        ASSERT_TRUE(events.ok());
        for (const auto& e : events.value()) seen[e.message_id + " " + e.type] = e.body;
      }
      engine.stop();
    }
    EXPECT_TRUE(seen.count("good Delivery")) << "the good message was not delivered within 10 s";
    // The fresh one is deferred as an internal failure, its attempt counted, still queued.
    ASSERT_TRUE(seen.count("bad-meta DeliveryDelay"));
    EXPECT_NE(seen["bad-meta DeliveryDelay"].find(R"("delayType":"InternalFailure")"), std::string::npos)
        << seen["bad-meta DeliveryDelay"];
    EXPECT_EQ(seen["bad-meta DeliveryDelay"].find("type_error"), std::string::npos) << "internal detail in an event";
    auto pending = st.pending_recipients();
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending.value().size(), 1u);
    EXPECT_EQ(pending.value()[0].message_id, "bad-meta");
    EXPECT_EQ(pending.value()[0].attempts, 1);
    EXPECT_GT(pending.value()[0].next_attempt, clock.now() + 30);
    // The expired one bounces (a soft bounce SES stopped retrying), so it ends in an event.
    ASSERT_TRUE(seen.count("bad-expired Bounce"));
    EXPECT_NE(seen["bad-expired Bounce"].find(R"("bounceType":"Transient")"), std::string::npos)
        << seen["bad-expired Bounce"];
    EXPECT_FALSE(seen.count("bad-expired Delivery"));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sesame::delivery
