// The renderer's golden cases (tests/templates/golden.txt: template + data → output or
// error) and the limits: deep nesting, huge data, runaway loops.
#include "templating/template.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace sesame::templating {
namespace {

struct Case {
  std::string name, template_text, data = "{}", output, error;
  bool expect_error = false;
  int line = 0;
};

/// "=== name" starts a case; "--- template|data|output|error" start its sections. Each
/// section's text loses exactly one final newline; the blank line before "===" is a
/// separator.
std::vector<Case> load_cases() {
  std::ifstream in(SESAME_TEMPLATE_GOLDEN);
  EXPECT_TRUE(in.good()) << SESAME_TEMPLATE_GOLDEN;
  std::vector<Case> cases;
  std::string line, section, *target = nullptr;
  int n = 0;
  bool last_blank = false;
  auto finish_section = [&] {
    if (target && !target->empty() && target->back() == '\n') target->pop_back();
  };
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("=== ", 0) == 0) {
      if (target && last_blank && !target->empty()) target->pop_back();  // the separator
      finish_section();
      cases.push_back(Case{});
      cases.back().name = line.substr(4);
      cases.back().line = n;
      target = nullptr;
      last_blank = false;
      continue;
    }
    if (line.rfind("--- ", 0) == 0 && !cases.empty()) {
      finish_section();
      std::string s = line.substr(4);
      Case& c = cases.back();
      if (s == "template") target = &c.template_text;
      else if (s == "data") {
        c.data.clear();
        target = &c.data;
      } else if (s == "output") target = &c.output;
      else if (s == "error") {
        c.expect_error = true;
        target = &c.error;
      } else ADD_FAILURE() << "line " << n << ": unknown section " << s;
      last_blank = false;
      continue;
    }
    if (target) *target += line + "\n";
    last_blank = line.empty();
  }
  finish_section();
  return cases;
}

TEST(TemplateGolden, EveryCase) {
  auto cases = load_cases();
  EXPECT_GE(cases.size(), 60u);
  for (const auto& c : cases) {
    SCOPED_TRACE("case '" + c.name + "' at golden.txt:" + std::to_string(c.line));
    auto data = parse_data(c.data);
    ASSERT_TRUE(data.ok()) << data.error().message;
    auto t = Template::compile(c.template_text);
    if (!t.ok()) {
      EXPECT_TRUE(c.expect_error) << "compile error: " << t.error().message;
      if (c.expect_error) {
        EXPECT_NE(t.error().message.find(c.error), std::string::npos) << t.error().message;
      }
      continue;
    }
    auto out = t.value()->render(data.value());
    if (c.expect_error) {
      ASSERT_FALSE(out.ok()) << "rendered: [" << out.value() << "]";
      EXPECT_NE(out.error().message.find(c.error), std::string::npos) << out.error().message;
    } else {
      ASSERT_TRUE(out.ok()) << out.error().message;
      EXPECT_EQ(out.value(), c.output);
    }
  }
}

TEST(Template, MissingAttributeIsNotFound) {
  auto t = Template::compile("Hi {{user.name}}");
  ASSERT_TRUE(t.ok());
  auto out = t.value()->render(parse_data(R"({"user":{}})").value());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, base::ErrorCode::kNotFound);
  EXPECT_EQ(out.error().message, "Attribute 'user.name' is not present in the rendering data.");
}

TEST(Template, ParseErrorsNameLineAndColumn) {
  auto t = Template::compile("line one\n  {{#if a}}\nx\n");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("(line 2, column 3)"), std::string::npos) << t.error().message;
  t = Template::compile("ab\ncd {{/each}}");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("(line 2, column 4)"), std::string::npos) << t.error().message;
}

TEST(Template, TenThousandNestedIfsAreRefusedQuickly) {
  std::string src;
  for (int i = 0; i < 10000; ++i) src += "{{#if a}}";
  src += "x";
  for (int i = 0; i < 10000; ++i) src += "{{/if}}";
  auto start = std::chrono::steady_clock::now();
  auto t = Template::compile(src);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("nested"), std::string::npos) << t.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(Template, UnclosedBlocksAndHugeSources) {
  for (const char* bad : {"{{#each items}}", "{{#if a}}{{else}}{{else}}{{/if}}", "{{name", "{{{name}}", "{{!-- x }}",
                          "{{#if a}}{{/each}}", "{{else}}", "{{> (dynamic)}}", "{{{{raw}}}}x{{{{/raw}}}}", "{{#*inline}}x{{/inline}}"}) {
    auto t = Template::compile(bad);
    EXPECT_FALSE(t.ok()) << bad;
  }
  std::string big(600 * 1024, 'x');
  EXPECT_FALSE(Template::compile(big).ok());
  std::string near(500 * 1024, 'y');
  EXPECT_TRUE(Template::compile(near).ok());
}

TEST(Template, DeepOrHugeDataIsBounded) {
  std::string deep(100000, '[');
  auto d = parse_data("{\"a\":" + deep + "}");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("nested"), std::string::npos);
  EXPECT_FALSE(parse_data("[1,2]").ok());
  EXPECT_FALSE(parse_data("{\"a\":").ok());
  // 100,000 items × 100,000 items: stopped by the step limit, not by the clock.
  Data big = Data::object();
  big["items"] = Data::array();
  for (int i = 0; i < 100000; ++i) big["items"].push_back(i);
  auto t = Template::compile("{{#each items}}{{#each ../items}}{{/each}}{{/each}}");
  ASSERT_TRUE(t.ok());
  auto start = std::chrono::steady_clock::now();
  auto out = t.value()->render(big);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, base::ErrorCode::kLimitExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // Output doubling through partials is stopped by the output limit.
  auto bomb = Template::compile(
      "{{#*inline \"a\"}}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{/inline}}"
      "{{#each items}}{{> a}}{{> a}}{{/each}}");
  ASSERT_TRUE(bomb.ok());
  RenderLimits small;
  small.max_output_bytes = 1 << 20;
  auto r = bomb.value()->render(big, small);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, base::ErrorCode::kLimitExceeded);
}

TEST(Template, RecursivePartialsStop) {
  auto t = Template::compile("{{#*inline \"me\"}}x{{> me}}{{/inline}}{{> me}}");
  ASSERT_TRUE(t.ok());
  auto out = t.value()->render(Data::object());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, base::ErrorCode::kLimitExceeded);
}

TEST(Template, StandaloneLinesWithCrlf) {
  auto t = Template::compile("a\r\n{{#if t}}\r\nb\r\n{{/if}}\r\nc");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value()->render(parse_data(R"({"t":true})").value()).value(), "a\r\nb\r\nc");
}

TEST(Template, RendersConcurrentlyFromOneCompiledProgram) {
  auto t = Template::compile("{{#each xs}}{{this}}{{/each}}");
  ASSERT_TRUE(t.ok());
  auto d = parse_data(R"({"xs":[1,2,3]})").value();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.value()->render(d).value(), "123");
}

}  // namespace
}  // namespace sesame::templating
