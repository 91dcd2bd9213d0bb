// See rendering.hpp.
#include "service/rendering.hpp"

#include "base/ids.hpp"
#include "service/documents.hpp"
#include "service/services.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
using base::Result;
constexpr std::size_t kMaxCachedTemplates = 4096;

std::string part_of(const json& content, const char* name, bool& present) {
  present = content.contains(name) && content[name].is_string();
  return present ? content[name].get<std::string>() : std::string();
}
}  // namespace

Result<std::shared_ptr<const CompiledTemplate>> compile_template(const json& content, std::string name) {
  auto t = std::make_shared<CompiledTemplate>();
  t->name = std::move(name);
  bool has_subject = false;
  t->subject_source = part_of(content, "Subject", has_subject);
  t->text_source = part_of(content, "Text", t->has_text);
  t->html_source = part_of(content, "Html", t->has_html);
  struct Part {
    const char* name;
    const std::string* source;
    std::shared_ptr<const templating::Template>* out;
  };
  for (const Part& p : {Part{"Subject", &t->subject_source, &t->subject}, Part{"Text", &t->text_source, &t->text},
                        Part{"Html", &t->html_source, &t->html}}) {
    auto compiled = templating::Template::compile(*p.source);
    if (!compiled.ok())
      return base::make_error(ErrorCode::kInvalidParameter, std::string("Template ") + p.name + " part is invalid: " +
                                                                compiled.error().message, "template");
    *p.out = std::move(compiled).value();
  }
  return std::shared_ptr<const CompiledTemplate>(std::move(t));
}

Result<std::shared_ptr<const CompiledTemplate>> TemplateCache::stored(Services& s, const Caller& c, const std::string& name) {
  Documents docs(s);
  SESAME_ASSIGN(auto doc, docs.find(c, kind::kTemplate, name));
  if (!doc) return base::make_error(ErrorCode::kNotFound, "Template " + name + " does not exist.", "template");
  const json content = doc->value("TemplateContent", json::object());
  const std::string key = c.account_id + "/" + c.region + "/" + name;
  auto same = [&](const CompiledTemplate& t) {
    bool p = false;
    return t.subject_source == part_of(content, "Subject", p) && t.text_source == part_of(content, "Text", p) &&
           t.has_text == p && t.html_source == part_of(content, "Html", p) && t.has_html == p;
  };
  {
    std::lock_guard lk(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && same(*it->second)) return it->second;
  }
  SESAME_ASSIGN(auto compiled, compile_template(content, name));
  std::lock_guard lk(mu_);
  if (entries_.size() >= kMaxCachedTemplates) entries_.clear();  // bounded; recompiling is cheap
  entries_[key] = compiled;
  return compiled;
}

Result<templating::Data> template_data(const std::string& text, const std::string& subject) {
  auto d = templating::parse_data(text);
  if (!d.ok()) return base::make_error(ErrorCode::kInvalidParameter, d.error().message, subject);
  return d;
}

templating::Data merge_data(const templating::Data& defaults, const templating::Data& replacement) {
  if (!defaults.is_object() || !replacement.is_object()) return replacement;
  templating::Data out = defaults;
  for (const auto& [k, v] : replacement.items()) {
    auto it = out.find(k);
    if (it != out.end() && it->is_object() && v.is_object()) *it = merge_data(*it, v);
    else out[k] = v;
  }
  return out;
}

Result<RenderedContent> render_template(const CompiledTemplate& t, const templating::Data& data) {
  RenderedContent r;
  SESAME_ASSIGN(r.subject.data, t.subject->render(data));
  if (t.has_text) {
    SESAME_ASSIGN(auto text, t.text->render(data));
    r.text = mime::TextPart{std::move(text), "UTF-8"};
  }
  if (t.has_html) {
    SESAME_ASSIGN(auto html, t.html->render(data));
    r.html = mime::TextPart{std::move(html), "UTF-8"};
  }
  return r;
}

std::string template_name_from_arn(const std::string& arn) {
  auto slash = arn.rfind(":template/");
  return slash == std::string::npos ? std::string() : arn.substr(slash + 10);
}

Result<std::string> rendered_mime(const RenderedContent& r, double now) {
  mime::SimpleMessage m;  // no From: a test render has no sender
  m.subject = r.subject;
  m.text = r.text;
  m.html = r.html;
  if (!m.text && !m.html) m.text = mime::TextPart{"", "UTF-8"};
  m.message_id = base::ses_message_id(now, "0000") + "@email.amazonses.com";
  m.date = now;
  return mime::build_simple(m);
}

}  // namespace sesame::service
