// SES's template language: Handlebars as SES runs it (reference §9), compiled once into a
// program that renders without re-parsing. No I/O. Covered: {{path}} with nested and
// parent (../) paths, @index/@key/@first/@last/@root, {{#if}}/{{else}}/{{else if}},
// {{#unless}}, {{#each}} over arrays and objects, {{#with}}, block parameters (as |x i|),
// sections {{#x}} / inverted {{^x}}, {{{x}}} and {{&x}}, comments, whitespace control
// {{~ ~}} and Handlebars' standalone-line rule, \{{ escapes, lookup/log, and inline
// partials {{#*inline "p"}} used as {{> p}}.
//
// SES differences from stock Handlebars.js, deliberately: nothing is HTML-escaped (SES
// "doesn't escape HTML content"), and a substitution whose attribute is missing from the
// data is an error ("Attribute 'x' is not present in the rendering data."), as in
// Handlebars' strict mode; a missing value tested by a helper (#if, #each …) is falsy.
// Not supported (an error names them): custom helpers, dynamic partials, raw blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sesame::templating {

/// Template data keeps the order of object keys, as JavaScript does for {{#each}} / @key.
using Data = nlohmann::ordered_json;

struct CompileLimits {
  std::size_t max_bytes = 512 * 1024;  // one part; SES allows 500 KB per template
  std::size_t max_block_depth = 100;   // nested blocks ({{#if}} in {{#each}} …)
  std::size_t max_expression_depth = 16;  // nested sub-expressions
};

struct RenderLimits {
  std::size_t max_output_bytes = 16u << 20;
  /// Nodes visited plus loop iterations: bounds the time of a render whatever the data.
  std::uint64_t max_steps = 5'000'000;
  std::size_t max_call_depth = 256;  // blocks and partials active at once
};

/// Error codes: compile → kInvalidParameter, the message ending "(line L, column C)";
/// render → kNotFound with subject "rendering-attribute" for a missing attribute,
/// kLimitExceeded for a limit, kInvalidParameter for any other failure.
class Template {
 public:
  static base::Result<std::shared_ptr<const Template>> compile(std::string_view source, const CompileLimits& limits = {});
  ~Template();
  Template(const Template&) = delete;
  Template& operator=(const Template&) = delete;

  /// Appends the rendering to `out`. Thread-safe: a compiled template is immutable.
  base::Status render(const Data& data, std::string& out, const RenderLimits& limits = {}) const;
  base::Result<std::string> render(const Data& data, const RenderLimits& limits = {}) const;

  struct Program;

 private:
  Template();
  std::unique_ptr<Program> root_;
};

/// Parses template data (a JSON string holding an object, as TemplateData is) with a
/// nesting limit checked before parsing. kInvalidParameter when it is not valid JSON or
/// not an object.
base::Result<Data> parse_data(std::string_view json_text, std::size_t max_depth = 64);

}  // namespace sesame::templating
