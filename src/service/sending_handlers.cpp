// The send operations over sending::accept(): v1 SendEmail, SendRawEmail,
// SendTemplatedEmail, SendBulkTemplatedEmail; v2 SendEmail (Simple, Raw, Template) and
// SendBulkEmail; and the test renders (v1 TestRenderTemplate, v2 TestRenderEmailTemplate).
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

/// What every send request adds to its Submission: the configuration set and the tags.
base::Status set_and_tags(Submission& sub, const json& in, const char* tags_member) {
  sub.configuration_set = str(in, "ConfigurationSetName");
  return tags_into(in.value(tags_member, json::array()), "Name", "Value", sub.tags);
}

/// The members every send operation has (configuration set, tags), then accept().
Result<json> send(Sending& sending, const Caller& c, Submission sub, const json& in, const char* tags_member) {
  SESAME_CHECK(set_and_tags(sub, in, tags_member));
  SESAME_ASSIGN(auto id, sending.accept(c, std::move(sub)));
  return json{{"MessageId", id}};
}

/// send() answering after the commit from the store's writer thread (Sending::accept_async):
/// the worker that prepared the message is free at once.
void send_async(Sending& sending, const Caller& c, Result<Submission> sub, const json& in, const char* tags_member,
                Respond respond) {
  if (!sub.ok()) return respond(sub.error());
  if (auto st = set_and_tags(sub.value(), in, tags_member); !st.ok()) return respond(st.error());
  sending.accept_async(c, std::move(sub).value(), [respond = std::move(respond)](Result<std::string> id) {
    if (!id.ok()) return respond(id.error());
    respond(json{{"MessageId", id.value()}});
  });
}

void destinations(const json& d, Submission& s) {
  s.to = strings(d.value("ToAddresses", json::array()));
  s.cc = strings(d.value("CcAddresses", json::array()));
  s.bcc = strings(d.value("BccAddresses", json::array()));
}

constexpr std::size_t kMaxBulkDestinations = 50;

/// What every send starts from: operation, API version (size limit), sender (v1 Source,
/// v2 FromEmailAddress), the destination's lists and Reply-To.
Submission envelope(const char* operation, bool v2, const json& in, const json& destination) {
  Submission sub;
  sub.operation = operation;
  sub.v2 = v2;
  if (v2) sub.max_bytes = 40u << 20;
  sub.source = str(in, v2 ? "FromEmailAddress" : "Source");
  destinations(destination, sub);
  sub.reply_to = strings(in.value("ReplyToAddresses", json::array()));
  return sub;
}

/// A stored template named by name or ARN (v1 Template/TemplateArn, v2 TemplateName/TemplateArn).
Result<std::shared_ptr<const CompiledTemplate>> named_template(Services& s, const Caller& c, std::string name,
                                                              const std::string& arn) {
  if (name.empty()) name = template_name_from_arn(arn);
  if (name.empty()) return base::make_error(ErrorCode::kInvalidParameter, "A template name or ARN is required.");
  return s.templates.stored(s, c, name);
}

/// v2 Template {TemplateName | TemplateArn | TemplateContent}: stored or inline.
Result<std::shared_ptr<const CompiledTemplate>> v2_template(Services& s, const Caller& c, const json& tpl) {
  if (tpl.contains("TemplateContent")) return compile_template(tpl["TemplateContent"], "");
  return named_template(s, c, str(tpl, "TemplateName"), str(tpl, "TemplateArn"));
}

std::vector<std::pair<std::string, std::string>> headers_of(const json& list) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& h : list.is_array() ? list : json::array()) out.emplace_back(str(h, "Name"), str(h, "Value"));
  return out;
}

/// Bulk tags: the destination's replace the defaults of the same name.
base::Status bulk_tags(const json& defaults, const json& replacement, std::vector<std::pair<std::string, std::string>>& out) {
  std::vector<std::pair<std::string, std::string>> d, r;
  SESAME_CHECK(tags_into(defaults, "Name", "Value", d));
  SESAME_CHECK(tags_into(replacement, "Name", "Value", r));
  for (auto& t : d) {
    bool replaced = false;
    for (const auto& x : r) replaced = replaced || x.first == t.first;
    if (!replaced) out.push_back(std::move(t));
  }
  for (auto& t : r) out.push_back(std::move(t));
  return base::ok_status();
}

/// A destination's data over the defaults; absent or "{}" means the defaults (§9).
Result<templating::Data> bulk_data(const templating::Data& defaults, const std::string& replacement) {
  if (replacement.empty()) return defaults;
  SESAME_ASSIGN(auto r, template_data(replacement));
  return merge_data(defaults, r);
}

/// The per-destination status of a bulk send, in v1's or v2's spelling.
std::string bulk_status(const base::Error& e, bool v2) {
  const bool quota = e.code == ErrorCode::kThrottled && e.message.find("Daily") != std::string::npos;
  switch (e.code) {
    case ErrorCode::kRejected:
      if (e.subject == "mail-from") return v2 ? "MAIL_FROM_DOMAIN_NOT_VERIFIED" : "MailFromDomainNotVerified";
      return v2 ? "MESSAGE_REJECTED" : "MessageRejected";
    case ErrorCode::kThrottled:
      if (quota) return v2 ? "ACCOUNT_DAILY_QUOTA_EXCEEDED" : "AccountDailyQuotaExceeded";
      return v2 ? "ACCOUNT_THROTTLED" : "AccountThrottled";
    case ErrorCode::kPaused:
      if (e.subject == "configuration-set") return v2 ? "CONFIGURATION_SET_SENDING_PAUSED" : "ConfigurationSetSendingPaused";
      return v2 ? "ACCOUNT_SENDING_PAUSED" : "AccountSendingPaused";
    case ErrorCode::kNotFound:
      if (e.subject == "configuration-set") return v2 ? "CONFIGURATION_SET_NOT_FOUND" : "ConfigurationSetDoesNotExist";
      if (e.subject == "template") return v2 ? "TEMPLATE_NOT_FOUND" : "TemplateDoesNotExist";
      return v2 ? "FAILED" : "Failed";
    case ErrorCode::kInvalidParameter:
    case ErrorCode::kValidation: return v2 ? "INVALID_PARAMETER" : "InvalidParameterValue";
    case ErrorCode::kUnavailable: return v2 ? "TRANSIENT_FAILURE" : "TransientFailure";
    default: return v2 ? "FAILED" : "Failed";
  }
}

json bulk_results(const std::vector<Result<std::string>>& results, bool v2) {
  json out = json::array();
  for (const auto& r : results) {
    if (r.ok()) out.push_back(json{{"Status", v2 ? "SUCCESS" : "Success"}, {"MessageId", r.value()}});
    else out.push_back(json{{"Status", bulk_status(r.error(), v2)}, {"Error", r.error().message}});
  }
  return out;
}

/// TestRenderTemplate / TestRenderEmailTemplate: the stored template rendered as MIME.
Result<json> test_render(Services& s, const Caller& c, const json& in) {
  SESAME_ASSIGN(auto compiled, s.templates.stored(s, c, str(in, "TemplateName")));
  SESAME_ASSIGN(auto data, template_data(str(in, "TemplateData"), "rendering-parameter"));
  auto rendered = render_template(*compiled, data);
  if (!rendered.ok()) {
    const base::Error& e = rendered.error();
    if (e.code == ErrorCode::kNotFound || e.code == ErrorCode::kInternal) return e;
    return base::make_error(ErrorCode::kInvalidParameter, e.message, "rendering-parameter");
  }
  SESAME_ASSIGN(auto mime, rendered_mime(rendered.value(), s.clock.now()));
  return json{{"RenderedTemplate", mime}};
}
}  // namespace

namespace {
/// The Submission of a v2 SendEmail (Simple, Raw or Template content).
Result<Submission> v2_submission(Services& s, const Caller& c, const json& in) {
  Submission sub = envelope("SendEmail", true, in, in.value("Destination", json::object()));
  static const json kNoContent = json::object();
  const auto found = in.find("Content");  // read in place: it holds the message body
  const json& content = found != in.end() && found->is_object() ? *found : kNoContent;
  if (content.contains("Template")) {
    const json& tpl = content["Template"];
    SESAME_ASSIGN(auto compiled, v2_template(s, c, tpl));
    SESAME_ASSIGN(auto data, template_data(str(tpl, "TemplateData", "{}")));
    sub.templated = TemplatedContent{std::move(compiled), std::move(data), headers_of(tpl.value("Headers", json::array()))};
  } else if (content.contains("Raw")) {
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
  return sub;
}
}  // namespace

void register_sending(HandlerTable& t, Services& s) {
  auto sending = std::make_shared<Sending>(s);

  t.add_async(Api::kV1, "SendEmail", [sending](const Caller& c, const json& in, Respond respond) {
    Submission sub = envelope("SendEmail", false, in, in.value("Destination", json::object()));
    sub.simple = subject_and_body(in.value("Message", json::object()));
    send_async(*sending, c, std::move(sub), in, "Tags", std::move(respond));
  });

  t.add_async(Api::kV1, "SendRawEmail", [sending](const Caller& c, const json& in, Respond respond) {
    auto sub = [&]() -> Result<Submission> {
      Submission sub;
      sub.operation = "SendRawEmail";
      sub.source = str(in, "Source");
      sub.to = strings(in.value("Destinations", json::array()));
      SESAME_ASSIGN(auto raw, decode_blob(in.value("RawMessage", json::object()).value("Data", json())));
      sub.raw = std::move(raw);
      return sub;
    }();
    send_async(*sending, c, std::move(sub), in, "Tags", std::move(respond));
  });

  t.add_async(Api::kV2, "SendEmail", [sending, &s](const Caller& c, const json& in, Respond respond) {
    send_async(*sending, c, v2_submission(s, c, in), in, "EmailTags", std::move(respond));
  });

  t.add(Api::kV1, "SendTemplatedEmail", [sending, &s](const Caller& c, const json& in) -> Result<json> {
    Submission sub = envelope("SendTemplatedEmail", false, in, in.value("Destination", json::object()));
    SESAME_ASSIGN(auto data, template_data(str(in, "TemplateData")));
    SESAME_ASSIGN(auto compiled, named_template(s, c, str(in, "Template"), str(in, "TemplateArn")));
    sub.templated = TemplatedContent{std::move(compiled), std::move(data), {}};
    return send(*sending, c, std::move(sub), in, "Tags");
  });

  t.add(Api::kV1, "SendBulkTemplatedEmail", [sending, &s](const Caller& c, const json& in) -> Result<json> {
    const json list = in.value("Destinations", json::array());
    if (list.size() > kMaxBulkDestinations)
      return base::make_error(ErrorCode::kInvalidParameter, "Too many destinations: at most 50 are allowed.");
    SESAME_ASSIGN(auto defaults, template_data(str(in, "DefaultTemplateData")));
    SESAME_ASSIGN(auto compiled, named_template(s, c, str(in, "Template"), str(in, "TemplateArn")));
    std::vector<Submission> subs;
    for (const auto& d : list) {
      Submission sub = envelope("SendBulkTemplatedEmail", false, in, d.value("Destination", json::object()));
      sub.configuration_set = str(in, "ConfigurationSetName");
      SESAME_CHECK(bulk_tags(in.value("DefaultTags", json::array()), d.value("ReplacementTags", json::array()), sub.tags));
      SESAME_ASSIGN(auto data, bulk_data(defaults, str(d, "ReplacementTemplateData")));
      sub.templated = TemplatedContent{compiled, std::move(data), {}};
      subs.push_back(std::move(sub));
    }
    SESAME_ASSIGN(auto results, sending->accept_bulk(c, std::move(subs)));
    return json{{"Status", bulk_results(results, false)}};
  });

  t.add(Api::kV2, "SendBulkEmail", [sending, &s](const Caller& c, const json& in) -> Result<json> {
    const json entries = in.value("BulkEmailEntries", json::array());
    if (entries.size() > kMaxBulkDestinations)
      return base::make_error(ErrorCode::kInvalidParameter, "Too many entries: at most 50 are allowed.");
    const json tpl = in.value("DefaultContent", json::object()).value("Template", json::object());
    SESAME_ASSIGN(auto defaults, template_data(str(tpl, "TemplateData", "{}")));
    SESAME_ASSIGN(auto compiled, v2_template(s, c, tpl));
    std::vector<Submission> subs;
    for (const auto& e : entries) {
      Submission sub = envelope("SendBulkEmail", true, in, e.value("Destination", json::object()));
      sub.configuration_set = str(in, "ConfigurationSetName");
      SESAME_CHECK(bulk_tags(in.value("DefaultEmailTags", json::array()), e.value("ReplacementTags", json::array()), sub.tags));
      const json replacement =
          e.value("ReplacementEmailContent", json::object()).value("ReplacementTemplate", json::object());
      SESAME_ASSIGN(auto data, bulk_data(defaults, str(replacement, "ReplacementTemplateData")));
      auto headers = headers_of(tpl.value("Headers", json::array()));
      for (auto& h : headers_of(e.value("ReplacementHeaders", json::array()))) headers.push_back(std::move(h));
      sub.templated = TemplatedContent{compiled, std::move(data), std::move(headers)};
      subs.push_back(std::move(sub));
    }
    SESAME_ASSIGN(auto results, sending->accept_bulk(c, std::move(subs)));
    return json{{"BulkEmailEntryResults", bulk_results(results, true)}};
  });

  t.add(Api::kV1, "TestRenderTemplate", [&s](const Caller& c, const json& in) { return test_render(s, c, in); });
  t.add(Api::kV2, "TestRenderEmailTemplate", [&s](const Caller& c, const json& in) { return test_render(s, c, in); });
}

}  // namespace sesame::service
