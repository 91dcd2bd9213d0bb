// Open and click tracking: link rewriting (what is and is not tracked), the pixel, signed
// URLs read back, and tampering.
#include "service/tracking.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace sesame::service {
namespace {

TrackingLinks links() {
  TrackingLinks t;
  t.base = "http://sesame.test";
  t.message_id = "0100abc-000000";
  t.key = "k3y-for-tests-0123456789abcdef0123";
  t.opens = t.clicks = true;
  return t;
}

std::vector<std::string> tracked_urls(const std::string& html) {
  std::vector<std::string> out;
  std::regex re("http://sesame\\.test(/t/[oc]/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+)");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

TEST(Tracking, RewritesHttpLinksAndAddsThePixel) {
  const std::string html =
      "<html><body><p><A class=x HREF='https://shop.example/a?x=1&amp;y=2' ses:tags=\"campaign:spring;kind:cta\">Buy</A>"
      "<a href=\"mailto:x@y\">mail</a> <a href=\"http://keep.example\" ses:no-track>keep</a>"
      "<a href=http://bare.example/p>bare</a><abbr>no</abbr></p></BODY></html>";
  const std::string out = track_html(html, links());
  auto urls = tracked_urls(out);
  ASSERT_EQ(urls.size(), 3u) << out;  // two links and the pixel
  EXPECT_NE(out.find("href=\"mailto:x@y\""), std::string::npos);
  EXPECT_NE(out.find("href=\"http://keep.example\" ses:no-track"), std::string::npos);
  EXPECT_NE(out.find("<abbr>no</abbr>"), std::string::npos);
  EXPECT_LT(out.find("<img alt=\"\" src=\"http://sesame.test/t/o/"), out.find("</BODY>"));
  auto first = parse_tracking_path(urls[0], links().key);
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->open);
  EXPECT_EQ(first->message_id, "0100abc-000000");
  EXPECT_EQ(first->link, "https://shop.example/a?x=1&y=2");
  EXPECT_EQ(first->link_tags, "campaign:spring;kind:cta");
  auto bare = parse_tracking_path(urls[1], links().key);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->link, "http://bare.example/p");
  auto pixel = parse_tracking_path(urls[2], links().key);
  ASSERT_TRUE(pixel);
  EXPECT_TRUE(pixel->open);
}

TEST(Tracking, TamperedOrForeignUrlsAreRefused) {
  const std::string out = track_html("<a href=\"https://a.example/\">x</a>", links());
  auto urls = tracked_urls(out);
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_FALSE(parse_tracking_path(urls[0], "another key, another server......"));
  std::string tampered = urls[0];
  tampered[7] = tampered[7] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(parse_tracking_path(tampered, links().key));
  for (const char* bad : {"/t/", "/t/x/abc/def", "/t/c/", "/t/c/abc", "/t/o/!!!/x", "/x/o/abc/def", ""})
    EXPECT_FALSE(parse_tracking_path(bad, links().key)) << bad;
}

TEST(Tracking, OnlyWhatTheConfigurationSetPublishes) {
  json cs = {{"event_destinations",
              json::array({{{"Name", "d"}, {"Enabled", true}, {"MatchingEventTypes", json::array({"SEND", "CLICK"})}}})}};
  auto t = tracking_for(cs, "http://api.test/");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->clicks);
  EXPECT_FALSE(t->opens);
  EXPECT_EQ(t->base, "http://api.test");
  cs["TrackingOptions"] = {{"CustomRedirectDomain", "track.shop.example"}, {"HttpsPolicy", "REQUIRE"}};
  EXPECT_EQ(tracking_for(cs, "http://api.test")->base, "https://track.shop.example");
  cs["event_destinations"][0]["Enabled"] = false;
  EXPECT_FALSE(tracking_for(cs, "http://api.test"));
  // Clicks off: links stay, the pixel still goes in when opens are on.
  TrackingLinks opens_only = links();
  opens_only.clicks = false;
  const std::string out = track_html("<a href=\"https://a.example/\">x</a>", opens_only);
  EXPECT_NE(out.find("href=\"https://a.example/\""), std::string::npos);
  EXPECT_EQ(tracked_urls(out).size(), 1u);
}

TEST(Tracking, HostileHtmlStaysBounded) {
  // Unclosed tags and quotes, and a flood of links beyond the limit.
  EXPECT_NO_THROW(track_html("<a href=\"https://x", links()));
  EXPECT_NO_THROW(track_html("<a", links()));
  std::string many;
  for (int i = 0; i < 1500; ++i) many += "<a href=\"https://e.example/" + std::to_string(i) + "\">l</a>";
  TrackingLinks t = links();
  t.opens = false;
  EXPECT_EQ(tracked_urls(track_html(many, t)).size(), 1000u);
}

}  // namespace
}  // namespace sesame::service
