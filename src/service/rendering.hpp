// Templates at send time (reference §9): stored templates compiled once and cached per
// (account, region, name) while their content is unchanged; inline v2 TemplateContent;
// template data parsed and merged (bulk defaults); a template rendered into the Subject,
// Text and Html of a Simple message. The template language itself is in templating/.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/result.hpp"
#include "mime/simple_message.hpp"
#include "service/handler.hpp"
#include "templating/template.hpp"

namespace sesame::service {

struct Services;

struct CompiledTemplate {
  std::string name;  // empty for inline content
  std::string subject_source, text_source, html_source;
  bool has_text = false, has_html = false;
  std::shared_ptr<const templating::Template> subject, text, html;
};

struct RenderedContent {
  mime::TextPart subject;
  std::optional<mime::TextPart> text, html;
};

class TemplateCache {
 public:
  /// The stored template `name` (kNotFound "template": "Template <name> does not exist."),
  /// compiled, from the cache when its content has not changed.
  base::Result<std::shared_ptr<const CompiledTemplate>> stored(Services& s, const Caller& c, const std::string& name);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const CompiledTemplate>> entries_;
};

/// Compiles {Subject, Text, Html} (v2 TemplateContent; the stored form of both APIs).
/// kInvalidParameter subject "template" with the part, line and column on a syntax error.
base::Result<std::shared_ptr<const CompiledTemplate>> compile_template(const json& content, std::string name);

/// TemplateData: a JSON object as a string. kInvalidParameter with `subject` otherwise
/// ("rendering-parameter" for test renders, "" for sends: InvalidParameterValue).
base::Result<templating::Data> template_data(const std::string& text, const std::string& subject = "");

/// Bulk data: the destination's keys over the defaults; objects merge key by key (as SES
/// v2 was observed to do), anything else is replaced.
templating::Data merge_data(const templating::Data& defaults, const templating::Data& replacement);

/// Renders all parts. Errors as templating::Template::render reports them (kNotFound
/// "rendering-attribute" for a missing attribute).
base::Result<RenderedContent> render_template(const CompiledTemplate& t, const templating::Data& data);

/// The template name in a v1 TemplateArn / v2 TemplateArn ("arn:…:template/<name>").
std::string template_name_from_arn(const std::string& arn);

/// The rendered message as TestRenderTemplate returns it: MIME headers (Date, Subject,
/// MIME-Version) and the text and HTML parts, without sender or recipients.
base::Result<std::string> rendered_mime(const RenderedContent& r, double now);

}  // namespace sesame::service
