// The compiled form of a template (private to templating/): a tree of nodes whose text is
// final (whitespace control applied) and whose paths are split into parts, so rendering
// walks it without looking at the source again.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "templating/template.hpp"

namespace sesame::templating {

enum class Helper { kNone, kIf, kUnless, kEach, kWith, kLookup, kLog };

struct Path {
  std::string original;            // as written, for error messages
  std::vector<std::string> parts;  // after this/./../ and @ are taken off
  int depth = 0;                   // number of ../
  bool data = false;               // @index, @root.x …
  bool scoped = false;             // this., ./, ../ : never a helper, never a block param
  bool block_param = false;        // first part names a block parameter in lexical scope
  /// Per part, where in its object the key was found last time: data of one shape is
  /// looked up without scanning. Relaxed atomics: renders share a compiled template.
  std::unique_ptr<std::atomic<std::uint32_t>[]> hints;
};

struct Call;

struct Expr {
  enum class Kind { kPath, kLiteral, kCall } kind = Kind::kLiteral;
  Path path;
  Data literal;  // string, number, boolean, null; undefined is a discarded value
  std::unique_ptr<Call> call;
};

/// `name param… key=value… as |a b|`: a helper call, or a plain path when there are no
/// parameters and the name is no helper.
struct Call {
  Expr head;  // a path (or a literal, e.g. {{"text"}})
  Helper helper = Helper::kNone;
  std::vector<Expr> params;
  std::vector<std::pair<std::string, Expr>> hash;
  std::vector<std::string> block_params;
};

struct Node;

struct Template::Program {
  std::vector<Node> nodes;
  std::vector<std::pair<std::string, const Program*>> partials;  // {{#*inline}} in this program
  std::vector<std::unique_ptr<Program>> owned;                   // bodies of those partials
};

struct Node {
  enum class Kind { kText, kOutput, kBlock, kPartial } kind = Kind::kText;
  std::string text;  // kText; kPartial: the name
  Call call;         // kOutput, kBlock; kPartial: context parameter and hash
  bool inverted = false;  // {{^x}}…{{/x}}
  std::unique_ptr<Template::Program> body, inverse;
  std::string indent;  // kPartial on a standalone line: prefixed to each line it renders
  std::size_t line = 0, column = 0;
};

using Program = Template::Program;

}  // namespace sesame::templating
