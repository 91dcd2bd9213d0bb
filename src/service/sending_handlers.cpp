// The send operations over sending::accept(): v1 SendEmail and SendRawEmail, v2 SendEmail
// (Simple and Raw content). Templated sends arrive with the template renderer.
#include "base/encoding.hpp"
#include "service/sending.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
using base::Result;

std::vector<std::string> strings(const json& v) {
  std::vector<std::string> out;
  if (v.is_array())
    for (const auto& s : v) out.push_back(s.get<std::string>());
  return out;
}

/// SES message tags (reference §6.2): names [A-Za-z0-9_-], values also '.' and '@'.
base::Status tags_into(const json& list, const char* name_key, const char* value_key,
                       std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& t : list.is_array() ? list : json::array()) {
    std::string n = str(t, name_key), v = str(t, value_key);
    if (n.empty() || n.size() > 255) return base::make_error(ErrorCode::kInvalidParameter, "Tag name cannot exceed 255 characters.");
    if (v.size() > 255) return base::make_error(ErrorCode::kInvalidParameter, "Tag value cannot exceed 255 characters.");
    for (char c : n)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
        return base::make_error(ErrorCode::kInvalidParameter,
                                "Invalid tag name <" + n + ">: only alphanumeric ASCII characters, '_',  '-' are allowed.");
    for (char c : v)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' && c != '@')
        return base::make_error(ErrorCode::kInvalidParameter, "Invalid tag value <" + v + ">.");
    out.emplace_back(n, v);
  }
  return base::ok_status();
}

mime::TextPart part(const json& content) {
  return mime::TextPart{str(content, "Data"), str(content, "Charset", "UTF-8")};
}

Result<std::string> decode_blob(const json& v) {
  auto bytes = base::base64_decode(v.is_string() ? v.get<std::string>() : "");
  if (!bytes) return base::make_error(ErrorCode::kInvalidParameter, "Raw message data is not valid base64.");
  return *bytes;
}

/// Subject and Body {Text, Html}: v1 Message and v2 Content.Simple share this shape.
SimpleContent subject_and_body(const json& message) {
  SimpleContent content;
  content.subject = part(message.value("Subject", json::object()));
  const json body = message.value("Body", json::object());
  if (body.contains("Text")) content.text = part(body["Text"]);
  if (body.contains("Html")) content.html = part(body["Html"]);
  return content;
}

/// The members every send operation has (configuration set, tags), then accept().
Result<json> send(Sending& sending, const Caller& c, Submission sub, const json& in, const char* tags_member) {
  sub.configuration_set = str(in, "ConfigurationSetName");
  SESAME_CHECK(tags_into(in.value(tags_member, json::array()), "Name", "Value", sub.tags));
  SESAME_ASSIGN(auto id, sending.accept(c, std::move(sub)));
  return json{{"MessageId", id}};
}

void destinations(const json& d, Submission& s) {
  s.to = strings(d.value("ToAddresses", json::array()));
  s.cc = strings(d.value("CcAddresses", json::array()));
  s.bcc = strings(d.value("BccAddresses", json::array()));
}
}  // namespace

void register_sending(HandlerTable& t, Services& s) {
  auto sending = std::make_shared<Sending>(s);

  t.add(Api::kV1, "SendEmail", [sending](const Caller& c, const json& in) -> Result<json> {
    Submission sub;
    sub.operation = "SendEmail";
    sub.source = str(in, "Source");
    destinations(in.value("Destination", json::object()), sub);
    sub.reply_to = strings(in.value("ReplyToAddresses", json::array()));
    sub.simple = subject_and_body(in.value("Message", json::object()));
    return send(*sending, c, std::move(sub), in, "Tags");
  });

  t.add(Api::kV1, "SendRawEmail", [sending](const Caller& c, const json& in) -> Result<json> {
    Submission sub;
    sub.operation = "SendRawEmail";
    sub.source = str(in, "Source");
    sub.to = strings(in.value("Destinations", json::array()));
    SESAME_ASSIGN(auto raw, decode_blob(in.value("RawMessage", json::object()).value("Data", json())));
    sub.raw = std::move(raw);
    return send(*sending, c, std::move(sub), in, "Tags");
  });

  t.add(Api::kV2, "SendEmail", [sending](const Caller& c, const json& in) -> Result<json> {
    Submission sub;
    sub.operation = "SendEmail";
    sub.v2 = true;
    sub.max_bytes = 40u << 20;
    sub.source = str(in, "FromEmailAddress");
    destinations(in.value("Destination", json::object()), sub);
    sub.reply_to = strings(in.value("ReplyToAddresses", json::array()));
    const json content = in.value("Content", json::object());
    if (content.contains("Template"))
      return base::make_error(ErrorCode::kNotImplemented, "Templated sends arrive with the template renderer (not built yet).");
    if (content.contains("Raw")) {
      SESAME_ASSIGN(auto raw, decode_blob(content["Raw"].value("Data", json())));
      sub.raw = std::move(raw);
      // v2 raw: the Destination lists, when given, are the envelope.
      for (auto* l : {&sub.cc, &sub.bcc}) sub.to.insert(sub.to.end(), l->begin(), l->end());
      sub.cc.clear();
      sub.bcc.clear();
    } else if (content.contains("Simple")) {
      const json& simple = content["Simple"];
      SimpleContent sc = subject_and_body(simple);
      for (const auto& h : simple.value("Headers", json::array())) sc.headers.emplace_back(str(h, "Name"), str(h, "Value"));
      for (const auto& a : simple.value("Attachments", json::array())) {
        mime::Attachment att;
        att.file_name = str(a, "FileName");
        att.content_type = str(a, "ContentType");
        att.inline_disposition = str(a, "ContentDisposition") == "INLINE";
        att.content_id = str(a, "ContentId");
        att.description = str(a, "ContentDescription");
        std::string cte = str(a, "ContentTransferEncoding", "BASE64");
        att.transfer_encoding = cte == "QUOTED_PRINTABLE" ? "quoted-printable" : cte == "SEVEN_BIT" ? "7bit" : "base64";
        SESAME_ASSIGN(auto bytes, decode_blob(a.value("RawContent", json())));
        att.raw = std::move(bytes);
        sc.attachments.push_back(std::move(att));
      }
      sub.simple = std::move(sc);
    } else {
      return base::make_error(ErrorCode::kInvalidParameter, "Content must have Simple, Raw or Template.");
    }
    return send(*sending, c, std::move(sub), in, "EmailTags");
  });
}

}  // namespace sesame::service
