// Template render benchmark (not a test), run by bench/template_bench.sh: renders of a
// realistic newsletter (about 5 KB of HTML, 20 variables, one {{#each}} over 10 items) per
// second on one thread, with Sesame's renderer. It also writes the template, the data and
// its own rendering to DIR, so that the peer (handlebars.js, bench/js/render_peer.mjs)
// renders exactly the same input and the outputs can be compared.
//
// usage: template_render DIR SECONDS
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "templating/template.hpp"

namespace {
using sesame::templating::Data;

std::string newsletter_html() {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{{subject}}</title>\n"
      "<style>body{font-family:Helvetica,Arial,sans-serif;color:#222;background:#f4f4f4;margin:0;padding:0}"
      ".wrap{max-width:640px;margin:0 auto;background:#fff}.hd{background:{{brand.color}};color:#fff;padding:24px}"
      ".item{border-bottom:1px solid #eee;padding:16px 24px}.item h3{margin:0 0 8px;font-size:18px}"
      ".price{color:#0a7c2f;font-weight:bold}.ft{font-size:12px;color:#888;padding:24px}</style>\n</head>\n<body>\n"
      "<div class=\"wrap\">\n  <div class=\"hd\">\n    <img src=\"{{brand.logo}}\" alt=\"{{brand.name}}\" width=\"120\">\n"
      "    <h1>{{headline}}</h1>\n  </div>\n"
      "  <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse\">"
      "<tr><td style=\"padding:8px 24px;font-size:13px\"><a href=\"https://shop.example/new\" style=\"color:#1d5fa6\">New in</a>"
      "</td><td style=\"padding:8px;font-size:13px\"><a href=\"https://shop.example/women\" style=\"color:#1d5fa6\">Women</a>"
      "</td><td style=\"padding:8px;font-size:13px\"><a href=\"https://shop.example/men\" style=\"color:#1d5fa6\">Men</a>"
      "</td><td style=\"padding:8px;font-size:13px\"><a href=\"https://shop.example/kids\" style=\"color:#1d5fa6\">Kids</a>"
      "</td><td style=\"padding:8px;font-size:13px\"><a href=\"https://shop.example/outlet\" style=\"color:#1d5fa6\">Outlet</a>"
      "</td></tr></table>\n  <p style=\"padding:0 24px\">Hello {{user.firstName}} {{user.lastName}},</p>\n"
      "  <p style=\"padding:0 24px\">Here is what is new at {{brand.name}} this week, picked for members in "
      "{{user.city}}. As a {{user.tier}} member you have {{user.points}} points to spend before the end of the year."
      " We hope you find something you like; every order above {{shipping.threshold}} ships free within "
      "{{shipping.days}} working days, and returns are free for thirty days.</p>\n";
  h += "  <table role=\"presentation\" width=\"100%\" style=\"background:#f9f6ef\"><tr><td style=\"padding:16px 24px\">\n"
       "    <h2 style=\"margin:0 0 8px;font-size:16px\">Why members shop with us</h2>\n"
       "    <ul style=\"margin:0;padding-left:18px;font-size:14px;line-height:20px\">\n"
       "      <li>Every jacket is tested for a full season on the trail before it reaches the shop.</li>\n"
       "      <li>Repairs are free for two years, and we recycle what can no longer be repaired.</li>\n"
       "      <li>Points on every order, double points in your birthday month.</li>\n"
       "      <li>Early access to the winter sale, one day before everyone else.</li>\n"
       "      <li>Free alterations on trousers and sleeves in every one of our shops, usually within a week.</li>\n"
       "      <li>A real person answers the phone, seven days a week, from eight in the morning to eight at night.</li>\n"
       "      <li>Gift wrapping on request, with a handwritten card if you tell us what to write on it.</li>\n"
       "    </ul>\n  </td></tr></table>\n";
  h += "  {{#each items}}\n  <div class=\"item\">\n    <a href=\"{{url}}?utm_source=newsletter&utm_campaign={{../campaign}}\">"
       "<img src=\"{{image}}\" alt=\"{{title}}\" width=\"160\" style=\"float:right;margin-left:16px\"></a>\n"
       "    <h3>{{@index}}. {{title}}</h3>\n    <p>{{description}}</p>\n    <p><span class=\"price\">{{price}} {{../currency}}</span>"
       "{{#if onSale}} <s>{{listPrice}} {{../currency}}</s> <b>Sale!</b>{{/if}}</p>\n"
       "    <p><a href=\"{{url}}\">View {{title}}</a></p>\n  </div>\n  {{/each}}\n";
  h += "  <div class=\"ft\">\n    <p>You receive this email because you subscribed to the {{brand.name}} newsletter with "
       "{{user.email}}. We send it at most once a week. Our postal address is {{brand.address}}.</p>\n"
       "    <p><a href=\"{{unsubscribeUrl}}\">Unsubscribe</a> | <a href=\"{{preferencesUrl}}\">Preferences</a> | "
       "<a href=\"{{brand.site}}/privacy\">Privacy</a></p>\n"
       "    <p>Questions? Reply to this email or write to our support team; we answer within one working day, in "
       "English, German and French. Prices include VAT where it applies. Offers are valid while stocks last and "
       "cannot be combined with other promotions. Images are for illustration; colours may differ on screen.</p>\n"
       "    <p>&copy; {{year}} {{brand.name}}. All rights reserved. The {{brand.name}} name and logo are trademarks.</p>\n"
       "    <table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\"><tr>"
       "<td style=\"padding-right:12px\"><a href=\"https://facebook.example/acme\"><img src=\"https://cdn.shop.example/fb.png\" width=\"24\" alt=\"Facebook\"></a></td>"
       "<td style=\"padding-right:12px\"><a href=\"https://instagram.example/acme\"><img src=\"https://cdn.shop.example/ig.png\" width=\"24\" alt=\"Instagram\"></a></td>"
       "<td style=\"padding-right:12px\"><a href=\"https://youtube.example/acme\"><img src=\"https://cdn.shop.example/yt.png\" width=\"24\" alt=\"YouTube\"></a></td>"
       "</tr></table>\n"
       "    <p style=\"font-size:11px;line-height:16px\">This message was sent by an automated system. Please do not share it: the "
       "links in it are personal and sign you in to your account for seven days. If you forward it, the recipient may be "
       "able to change your preferences. Delivery times are estimates and may be longer during holidays and sales. "
       "Member points have no cash value, are not transferable and expire as described in the programme terms on our "
       "website. Free shipping applies to standard delivery to one address in the country of the shop.</p>\n"
       "  </div>\n</div>\n</body>\n</html>\n";
  return h;
}

Data newsletter_data() {
  Data d = Data::object();
  d["subject"] = "Your weekly picks";
  d["headline"] = "Fresh picks for autumn";
  d["campaign"] = "autumn-2026";
  d["currency"] = "EUR";
  d["year"] = 2026;
  d["unsubscribeUrl"] = "https://shop.example/u/8f3a9c2d";
  d["preferencesUrl"] = "https://shop.example/p/8f3a9c2d";
  d["brand"] = {{"name", "Acme Outdoor"}, {"color", "#1d5fa6"}, {"logo", "https://cdn.shop.example/logo.png"},
                {"address", "1 Market Street, 1000 Brussels"}, {"site", "https://shop.example"}};
  d["user"] = {{"firstName", "Ana"}, {"lastName", "Lopez"}, {"city", "Ghent"}, {"tier", "gold"}, {"points", 1250},
               {"email", "ana@example.com"}};
  d["shipping"] = {{"threshold", 50}, {"days", 3}};
  Data items = Data::array();
  for (int i = 0; i < 10; ++i) {
    items.push_back({{"title", "Trail jacket model " + std::to_string(i + 1)},
                     {"description", "Waterproof, breathable and light: our best seller in size " + std::to_string(36 + i)},
                     {"url", "https://shop.example/item/" + std::to_string(1000 + i)},
                     {"image", "https://cdn.shop.example/item/" + std::to_string(1000 + i) + ".jpg"},
                     {"price", 79.5 + i},
                     {"listPrice", 99 + i},
                     {"onSale", i % 2 == 0}});
  }
  d["items"] = items;
  return d;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: template_render DIR SECONDS\n");
    return 2;
  }
  const std::string dir = argv[1];
  const double seconds = std::atof(argv[2]);
  const std::string source = newsletter_html();
  const Data data = newsletter_data();
  std::ofstream(dir + "/template.hbs") << source;
  std::ofstream(dir + "/data.json") << data.dump();

  auto compiled = sesame::templating::Template::compile(source);
  if (!compiled.ok()) {
    std::fprintf(stderr, "compile: %s\n", compiled.error().message.c_str());
    return 1;
  }
  const auto& t = *compiled.value();
  std::string out;
  if (!t.render(data, out).ok()) return 1;
  std::ofstream(dir + "/sesame.out") << out;
  const std::size_t bytes = out.size();

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  long renders = 0;
  while (Clock::now() < deadline) {
    for (int i = 0; i < 1000; ++i) {
      out.clear();  // keeps its capacity, as a sender rendering message after message would
      if (!t.render(data, out).ok()) return 1;
    }
    renders += 1000;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("renders=%ld seconds=%.2f renders_per_s=%.0f output_bytes=%zu template_bytes=%zu\n", renders, elapsed,
              double(renders) / elapsed, bytes, source.size());
  return 0;
}
