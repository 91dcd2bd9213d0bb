// The delivery engine on a real store, with SES's mailbox simulator as the destination (no
// network): a job that throws does not end the server, and the other jobs go on.
#include "delivery/engine.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
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

TEST(Engine, AJobThatThrowsIsRetriedLaterAndTheOthersGoOn) {
  const auto dir = std::filesystem::temp_directory_path() / ("sesame-engine-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto opened = store::open_sqlite({(dir / "t.db").string(), false});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    auto& st = *opened.value();
    // A record this version cannot read (the delivery options' return path is not a
    // string: nlohmann's value() throws type_error), queued before a good one.
    ASSERT_TRUE(st.write([](store::Txn& t) {
                    return t.insert_message(message("bad-meta", R"({"delivery":{"return_path":5}})"));
                  }).ok());
    ASSERT_TRUE(st.write([](store::Txn& t) {
                    return t.insert_message(message("good", R"({"delivery":{"return_path":"bounce@example.com"}})"));
                  }).ok());
    NoDns dns;
    base::SystemClock clock;
    EngineOptions o;
    o.helo_name = o.bounce_domain = "mta.example.com";
    {
      Engine engine(st, dns, clock, o);
      ASSERT_TRUE(engine.start().ok());
      bool delivered = false;
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!delivered && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        auto events = st.events_after(0, 100);
        ASSERT_TRUE(events.ok());
        for (const auto& e : events.value()) delivered |= e.message_id == "good" && e.type == "Delivery";
      }
      EXPECT_TRUE(delivered) << "the good message was not delivered within 10 s";
      engine.stop();
    }
    // The message whose job threw is still queued for a later attempt, not lost.
    auto pending = st.pending_recipients();
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending.value().size(), 1u);
    EXPECT_EQ(pending.value()[0].message_id, "bad-meta");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sesame::delivery
