// Email templates (v1 *Template, v2 *EmailTemplate) and custom verification email
// templates (both versions), one document each. Templates are compiled (templating/) when
// stored, so syntax errors are refused then; rendering is in rendering.cpp.
#include "base/encoding.hpp"
#include "service/documents.hpp"
#include "service/email_verification.hpp"
#include "service/identity.hpp"
#include "service/rendering.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
using base::Result;

constexpr std::size_t kMaxTemplateBytes = 500 * 1024;  // SES: 500 KB per template

std::string t_missing(const std::string& n) { return "Template " + n + " does not exist."; }
std::string cv_missing(const std::string& n) { return "Custom verification email template " + n + " does not exist."; }

base::Status check_content(const json& content) {
  std::size_t total = 0;
  for (const char* part : {"Subject", "Text", "Html"}) {
    std::string s = str(content, part);
    total += s.size();
    if (total > kMaxTemplateBytes)
      return base::make_error(ErrorCode::kInvalidParameter, "Template is larger than 500 KB.", "template");
  }
  // A template that does not compile is refused when stored, naming part, line and column.
  SESAME_ASSIGN(auto compiled, compile_template(content, ""));
  (void)compiled;
  return base::ok_status();
}

base::Status check_template_name(const std::string& name) {
  if (!valid_name(name))
    return base::make_error(ErrorCode::kInvalidParameter,
                            "Invalid template name <" + name + ">: use 1 to 64 letters, digits, '_' or '-'.");
  return base::ok_status();
}

/// v1 Template {TemplateName, SubjectPart, TextPart, HtmlPart} -> stored content.
json content_from_v1(const json& t) {
  json c = json::object();
  if (t.contains("SubjectPart")) c["Subject"] = t["SubjectPart"];
  if (t.contains("TextPart")) c["Text"] = t["TextPart"];
  if (t.contains("HtmlPart")) c["Html"] = t["HtmlPart"];
  return c;
}

std::size_t page_size(const json& in, const char* member, std::size_t fallback) {
  if (!in.contains(member)) return fallback;
  return std::size_t(std::max(1, std::min(1000, in[member].get<int>())));
}

class Templates {
 public:
  explicit Templates(Services& s) : docs_(s) {}

  Result<json> create(const Caller& c, const std::string& name, const json& content, const json& tags) {
    SESAME_CHECK(check_template_name(name));
    SESAME_CHECK(check_content(content));
    SESAME_CHECK(check_tags(tags));
    json doc{{"TemplateName", name}, {"TemplateContent", content}, {"Tags", merge_tags(json::array(), tags)},
             {"created", docs_.services().clock.now()}};
    SESAME_CHECK(docs_.create(c, kind::kTemplate, name, doc, "Template " + name + " already exists."));
    return json::object();
  }
  Result<json> update(const Caller& c, const std::string& name, const json& content) {
    SESAME_CHECK(check_content(content));
    SESAME_CHECK(docs_.update(c, kind::kTemplate, name, [&](json& d) {
      d["TemplateContent"] = content;
      return base::ok_status();
    }, t_missing(name)));
    return json::object();
  }
  Result<json> get(const Caller& c, const std::string& name) { return docs_.require(c, kind::kTemplate, name, t_missing(name)); }
  Result<bool> remove(const Caller& c, const std::string& name) { return docs_.erase(c, kind::kTemplate, name); }
  Result<Documents::Page> page(const Caller& c, const json& token, std::size_t n) { return docs_.page(c, kind::kTemplate, token, n); }

  Result<json> create_cv(const Caller& c, const json& in) {
    std::string name = str(in, "TemplateName");
    SESAME_CHECK(check_template_name(name));
    SESAME_CHECK(check_tags(in.value("Tags", json::array())));
    if (str(in, "TemplateContent").size() > 10u * 1024 * 1024)
      return base::make_error(ErrorCode::kInvalidParameter, "Template content is larger than 10 MB.", "custom-verification-content");
    SESAME_CHECK(check_from(c, str(in, "FromEmailAddress")));
    json doc = fields(in);
    doc["Tags"] = merge_tags(json::array(), in.value("Tags", json::array()));
    SESAME_CHECK(docs_.create(c, kind::kCustomVerificationTemplate, name, doc,
                              "Custom verification email template " + name + " already exists."));
    return json::object();
  }
  Result<json> update_cv(const Caller& c, const json& in) {
    std::string name = str(in, "TemplateName");
    if (in.contains("FromEmailAddress")) SESAME_CHECK(check_from(c, str(in, "FromEmailAddress")));
    SESAME_CHECK(docs_.update(c, kind::kCustomVerificationTemplate, name, [&](json& d) {
      const json changed = fields(in);
      for (const auto& [k, v] : changed.items()) d[k] = v;
      return base::ok_status();
    }, cv_missing(name)));
    return json::object();
  }
  Result<json> get_cv(const Caller& c, const std::string& name) {
    return docs_.require(c, kind::kCustomVerificationTemplate, name, cv_missing(name));
  }
  Result<bool> remove_cv(const Caller& c, const std::string& name) {
    return docs_.erase(c, kind::kCustomVerificationTemplate, name);
  }
  /// SendCustomVerificationEmail: the template's mail with a verification link; the
  /// address becomes a (pending) email identity, as with VerifyEmailIdentity.
  Result<json> send_cv(const Caller& c, const json& in) {
    Services& s = docs_.services();
    const std::string name = str(in, "TemplateName");
    SESAME_ASSIGN(auto tpl, docs_.require(c, kind::kCustomVerificationTemplate, name, cv_missing(name)));
    SESAME_ASSIGN(auto account, s.store.find_account(c.account_id));
    if (!account || !account->production)
      return base::make_error(ErrorCode::kRejected, "Production access is required to send custom verification emails.",
                              "production-access");
    if (in.contains("ConfigurationSetName")) {
      SESAME_ASSIGN(auto cs, docs_.find(c, kind::kConfigurationSet, str(in, "ConfigurationSetName")));
      if (!cs)
        return base::make_error(ErrorCode::kNotFound, "Configuration set <" + str(in, "ConfigurationSetName") + "> does not exist.",
                                kind::kConfigurationSet);
    }
    CustomVerification mail{str(tpl, "FromEmailAddress"), str(tpl, "TemplateSubject"), str(tpl, "TemplateContent"),
                            str(tpl, "SuccessRedirectionURL"), str(tpl, "FailureRedirectionURL")};
    SESAME_CHECK(check_from(c, mail.from));
    SESAME_ASSIGN(auto address, identity::normalize(str(in, "EmailAddress")));
    if (!identity::is_email(address)) return base::make_error(ErrorCode::kInvalidParameter, "Invalid email address <" + address + ">.");
    const double now = s.clock.now();
    SESAME_ASSIGN(auto doc, docs_.update(c, kind::kIdentity, address, [&](json& d) {
      if (d.empty()) d = identity::new_document(false, now);
      return base::ok_status();
    }, "", true));
    (void)doc;
    SESAME_ASSIGN(auto id, send_verification_email(s, c, address, &mail));
    return json{{"MessageId", id}};
  }
  Result<Documents::Page> page_cv(const Caller& c, const json& token, std::size_t n) {
    return docs_.page(c, kind::kCustomVerificationTemplate, token, n);
  }

 private:
  static json fields(const json& in) {
    json d = json::object();
    for (const char* k : {"TemplateName", "FromEmailAddress", "TemplateSubject", "TemplateContent", "SuccessRedirectionURL",
                          "FailureRedirectionURL"})
      if (in.contains(k)) d[k] = in[k];
    return d;
  }
  /// SES requires the From address (or its domain) to be a verified identity.
  base::Status check_from(const Caller& c, const std::string& from) {
    auto name = identity::normalize(from);
    if (!name.ok() || !identity::is_email(*name))
      return base::make_error(ErrorCode::kInvalidParameter, "Invalid FromEmailAddress <" + from + ">.");
    for (const std::string& candidate : {*name, identity::domain_of(*name)}) {
      SESAME_ASSIGN(auto doc, docs_.find(c, kind::kIdentity, candidate));
      if (doc && identity::verified_for_sending(*doc)) return base::ok_status();
    }
    return base::make_error(ErrorCode::kInvalidParameter,
                            "The from email address " + from + " is not verified.", "from-address");
  }
  Documents docs_;
};

json cv_metadata(const json& d) {
  json m = json::object();
  for (const char* k : {"TemplateName", "FromEmailAddress", "TemplateSubject", "SuccessRedirectionURL", "FailureRedirectionURL"})
    if (d.contains(k)) m[k] = d[k];
  return m;
}
}  // namespace

void register_templates(HandlerTable& t, Services& s) {
  auto tpl = std::make_shared<Templates>(s);
  const Api v1 = Api::kV1, v2 = Api::kV2;

  t.add(v1, "CreateTemplate", [tpl](const Caller& c, const json& in) {
    return tpl->create(c, in["Template"].value("TemplateName", ""), content_from_v1(in["Template"]), json::array());
  });
  t.add(v1, "UpdateTemplate", [tpl](const Caller& c, const json& in) {
    return tpl->update(c, in["Template"].value("TemplateName", ""), content_from_v1(in["Template"]));
  });
  t.add(v1, "GetTemplate", [tpl](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto d, tpl->get(c, str(in, "TemplateName")));
    json out{{"TemplateName", d["TemplateName"]}};
    const json& content = d["TemplateContent"];
    if (content.contains("Subject")) out["SubjectPart"] = content["Subject"];
    if (content.contains("Text")) out["TextPart"] = content["Text"];
    if (content.contains("Html")) out["HtmlPart"] = content["Html"];
    return json{{"Template", out}};
  });
  t.add(v1, "DeleteTemplate", [tpl](const Caller& c, const json& in) -> Result<json> {
    SESAME_CHECK(tpl->remove(c, str(in, "TemplateName")));  // SES v1 answers success when absent
    return json::object();
  });
  t.add(v1, "ListTemplates", [tpl](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto page, tpl->page(c, in.value("NextToken", json()), page_size(in, "MaxItems", 10)));
    json items = json::array();
    for (const auto& n : page.items) items.push_back(json{{"Name", n.name}, {"CreatedTimestamp", n.created}});
    json out{{"TemplatesMetadata", items}};
    if (page.next_token) out["NextToken"] = *page.next_token;
    return out;
  });

  t.add(v2, "CreateEmailTemplate", [tpl](const Caller& c, const json& in) {
    return tpl->create(c, str(in, "TemplateName"), in["TemplateContent"], in.value("Tags", json::array()));
  });
  t.add(v2, "UpdateEmailTemplate", [tpl](const Caller& c, const json& in) {
    return tpl->update(c, str(in, "TemplateName"), in["TemplateContent"]);
  });
  t.add(v2, "GetEmailTemplate", [tpl](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto d, tpl->get(c, str(in, "TemplateName")));
    return json{{"TemplateName", d["TemplateName"]}, {"TemplateContent", d["TemplateContent"]}, {"Tags", d.value("Tags", json::array())}};
  });
  t.add(v2, "DeleteEmailTemplate", [tpl](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto erased, tpl->remove(c, str(in, "TemplateName")));
    if (!erased) return base::make_error(ErrorCode::kNotFound, t_missing(str(in, "TemplateName")), kind::kTemplate);
    return json::object();
  });
  t.add(v2, "ListEmailTemplates", [tpl](const Caller& c, const json& in) -> Result<json> {
    SESAME_ASSIGN(auto page, tpl->page(c, in.value("NextToken", json()), page_size(in, "PageSize", 10)));
    json items = json::array();
    for (const auto& n : page.items) items.push_back(json{{"TemplateName", n.name}, {"CreatedTimestamp", n.created}});
    json out{{"TemplatesMetadata", items}};
    if (page.next_token) out["NextToken"] = *page.next_token;
    return out;
  });

  for (Api api : {v1, v2}) {
    t.add(api, "CreateCustomVerificationEmailTemplate", [tpl](const Caller& c, const json& in) { return tpl->create_cv(c, in); });
    t.add(api, "SendCustomVerificationEmail", [tpl](const Caller& c, const json& in) { return tpl->send_cv(c, in); });
    t.add(api, "UpdateCustomVerificationEmailTemplate", [tpl](const Caller& c, const json& in) { return tpl->update_cv(c, in); });
    t.add(api, "GetCustomVerificationEmailTemplate", [tpl](const Caller& c, const json& in) -> Result<json> {
      SESAME_ASSIGN(auto d, tpl->get_cv(c, str(in, "TemplateName")));
      return d;
    });
    t.add(api, "DeleteCustomVerificationEmailTemplate", [tpl, api](const Caller& c, const json& in) -> Result<json> {
      SESAME_ASSIGN(auto erased, tpl->remove_cv(c, str(in, "TemplateName")));
      if (!erased && api == Api::kV2)
        return base::make_error(ErrorCode::kNotFound, cv_missing(str(in, "TemplateName")), kind::kCustomVerificationTemplate);
      return json::object();
    });
    t.add(api, "ListCustomVerificationEmailTemplates", [tpl, api](const Caller& c, const json& in) -> Result<json> {
      std::size_t n = page_size(in, api == Api::kV1 ? "MaxResults" : "PageSize", 50);
      SESAME_ASSIGN(auto page, tpl->page_cv(c, in.value("NextToken", json()), n));
      json items = json::array();
      for (const auto& p : page.items) items.push_back(cv_metadata(p.doc));
      json out{{"CustomVerificationEmailTemplates", items}};
      if (page.next_token) out["NextToken"] = *page.next_token;
      return out;
    });
  }
}

}  // namespace sesame::service
