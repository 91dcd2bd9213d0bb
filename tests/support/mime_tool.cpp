// Test helper for tests/e2e/test_mime_interop.py: reads a JSON description of Simple
// content on stdin and prints the MIME message mime::build_simple makes of it.
// {"from": "...", "to": [...], "cc": [...], "subject": "...", "text": "...", "html": "...",
//  "headers": [["Name", "Value"]], "attachments": [{"name": ..., "b64": ..., "inline": bool, "cid": ...}]}
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "base/encoding.hpp"
#include "mime/simple_message.hpp"

int main() {
  using nlohmann::json;
  using namespace sesame::mime;
  std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return 2;
  SimpleMessage m;
  auto from = parse_mailbox(j.value("from", ""));
  if (!from.ok()) return 2;
  m.from = from.value();
  for (const char* field : {"to", "cc"}) {
    const json list = j.value(field, json::array());
    for (const auto& a : list) {
      auto mb = parse_mailbox(a.get<std::string>());
      if (!mb.ok()) return 2;
      (std::string(field) == "to" ? m.to : m.cc).push_back(mb.value());
    }
  }
  m.subject.data = j.value("subject", "");
  if (j.contains("text")) m.text = TextPart{j["text"].get<std::string>()};
  if (j.contains("html")) m.html = TextPart{j["html"].get<std::string>()};
  const json headers = j.value("headers", json::array());
  for (const auto& h : headers) m.headers.emplace_back(h[0].get<std::string>(), h[1].get<std::string>());
  const json attachments = j.value("attachments", json::array());
  for (const auto& a : attachments) {
    Attachment att;
    att.file_name = a.value("name", "");
    att.raw = sesame::base::base64_decode(a.value("b64", "")).value_or("");
    att.inline_disposition = a.value("inline", false);
    att.content_id = a.value("cid", "");
    m.attachments.push_back(att);
  }
  m.message_id = "test@email.amazonses.com";
  m.date = 1705320000;
  auto out = build_simple(m);
  if (!out.ok()) {
    std::cerr << out.error().message << "\n";
    return 1;
  }
  std::cout << out.value();
  return 0;
}
