// Template::compile: lexes the source into text and tags, applies Handlebars' whitespace
// control (the {{~ ~}} strips and the standalone-line rule, as handlebars.js's
// WhitespaceControl does: checks look at the original text, strips change the value), then
// parses the tags into the node tree of program.hpp. Errors name line and column.
#include <algorithm>
#include <cctype>

#include "templating/program.hpp"

namespace sesame::templating {
namespace {
using base::ErrorCode;
using base::Result;
using base::Status;

enum class Tag {
  kText,
  kComment,
  kOutput,       // {{x}}, {{{x}}}, {{&x}}
  kOpen,         // {{#x}}
  kOpenInverse,  // {{^x}}
  kInline,       // {{#*inline "name"}}
  kClose,        // {{/x}}
  kElse,         // {{else}}, {{^}}, {{else if x}}
  kPartial,      // {{> name}}
};

struct Token {
  Tag tag = Tag::kText;
  std::string original;  // text: as in the source; tags: the expression inside
  std::string value;     // text after whitespace control
  std::size_t offset = 0;  // of the token (tags: of "{{"); expression_offset: of `original`
  std::size_t expression_offset = 0;
  bool strip_left = false, strip_right = false;  // ~ on the tag's left / right
  bool left_stripped = false, right_stripped = false;  // text: already stripped at its end / start
};

bool standalone_kind(Tag t) {
  return t == Tag::kComment || t == Tag::kOpen || t == Tag::kOpenInverse || t == Tag::kInline || t == Tag::kClose ||
         t == Tag::kElse || t == Tag::kPartial;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

/// Characters that end a Handlebars identifier (its lexer's ID rule).
bool id_char(char c) {
  if (is_space(c)) return false;
  switch (c) {
    case '!': case '"': case '#': case '%': case '&': case '\'': case '(': case ')': case '*': case '+': case ',':
    case '.': case '/': case ';': case '<': case '=': case '>': case '@': case '[': case '\\': case ']': case '^':
    case '`': case '{': case '|': case '}': case '~':
      return false;
    default:
      return true;
  }
}

class Compiler {
 public:
  Compiler(std::string_view src, const CompileLimits& limits) : src_(src), limits_(limits) {
    for (std::size_t i = 0; i < src.size(); ++i)
      if (src[i] == '\n') newlines_.push_back(i);
  }

  base::Error error_at(std::size_t offset, const std::string& what) const {
    auto it = std::lower_bound(newlines_.begin(), newlines_.end(), offset);
    std::size_t line = std::size_t(it - newlines_.begin()) + 1;
    std::size_t column = offset - (it == newlines_.begin() ? 0 : *(it - 1) + 1) + 1;
    return base::make_error(ErrorCode::kInvalidParameter,
                            what + " (line " + std::to_string(line) + ", column " + std::to_string(column) + ")");
  }

  // -- 1. Lexing ------------------------------------------------------------------------
  Status lex() {
    std::string text;
    std::size_t text_offset = 0, pos = 0;
    auto flush = [&](std::size_t next_offset) {
      if (!text.empty()) {
        Token t;
        t.original = t.value = std::move(text);
        t.offset = text_offset;
        tokens_.push_back(std::move(t));
        text.clear();
      }
      text_offset = next_offset;
    };
    while (pos < src_.size()) {
      std::size_t i = src_.find("{{", pos);
      if (i == std::string_view::npos) {
        text.append(src_.substr(pos));
        break;
      }
      // \{{ is a literal "{{…" up to the next mustache; \\{{ is one backslash, then a tag.
      if (i > pos && src_[i - 1] == '\\' && !(i > pos + 1 && src_[i - 2] == '\\')) {
        text.append(src_.substr(pos, i - 1 - pos));
        std::size_t next = src_.find("{{", i + 2);
        if (next == std::string_view::npos) next = src_.size();
        else if (src_[next - 1] == '\\') next -= (next >= 2 && src_[next - 2] == '\\') ? 2 : 1;
        next = std::max(next, i + 2);
        text.append(src_.substr(i, next - i));
        pos = next;
        continue;
      }
      if (i > pos && src_[i - 1] == '\\') text.append(src_.substr(pos, i - 1 - pos));  // \\{{ → "\"
      else text.append(src_.substr(pos, i - pos));
      flush(i);
      SESAME_ASSIGN(pos, lex_tag(i));
      text_offset = pos;
    }
    flush(pos);
    return base::ok_status();
  }

  /// One tag at `at` ("{{"); returns the offset after it.
  Result<std::size_t> lex_tag(std::size_t at) {
    Token t;
    t.offset = at;
    std::size_t p = at + 2;
    if (src_.substr(at, 4) == "{{{{") return error_at(at, "Raw blocks ({{{{ }}}}) are not supported");
    if (p < src_.size() && src_[p] == '~') {
      t.strip_left = true;
      ++p;
    }
    auto close_at = [&](std::size_t from, std::string_view close) -> Result<std::size_t> {
      std::size_t e = src_.find(close, from);
      if (e == std::string_view::npos) return error_at(at, "'{{' is never closed with '" + std::string(close) + "'");
      return e;
    };
    if (src_.substr(p, 3) == "!--") {  // {{!-- … --}}: may contain }}
      t.tag = Tag::kComment;
      SESAME_ASSIGN(std::size_t e, close_at(p + 3, "--"));
      while (true) {
        std::size_t q = e + 2;
        if (q < src_.size() && src_[q] == '~') ++q;
        if (src_.substr(q, 2) == "}}") {
          t.strip_right = src_[e + 2] == '~';
          tokens_.push_back(std::move(t));
          return q + 2;
        }
        SESAME_ASSIGN(e, close_at(e + 1, "--"));
      }
    }
    if (p < src_.size() && src_[p] == '!') {
      t.tag = Tag::kComment;
      SESAME_ASSIGN(std::size_t e, close_at(p, "}}"));
      t.strip_right = e > p && src_[e - 1] == '~';
      tokens_.push_back(std::move(t));
      return e + 2;
    }
    bool triple = p < src_.size() && src_[p] == '{';
    if (triple) ++p;
    // The expression ends at the first "}}" outside a string literal.
    std::size_t e = p;
    char quote = 0;
    for (; e + 1 < src_.size(); ++e) {
      char c = src_[e];
      if (quote) {
        if (c == '\\' && e + 1 < src_.size()) ++e;
        else if (c == quote) quote = 0;
        continue;
      }
      if (c == '"' || c == '\'') quote = c;
      else if (c == '}' && src_[e + 1] == '}') break;
    }
    if (e + 1 >= src_.size()) return error_at(at, std::string("'{{' is never closed with '") + (triple ? "}}}" : "}}") + "'");
    std::size_t inner_end = e, after = e + 2;
    if (triple) {
      // "}}}" or "}~}}": the brace that closes the triple comes first.
      std::size_t b = inner_end;
      while (b > p && src_[b - 1] == '~') --b;
      if (b > p && src_[b - 1] == '}') {
        t.strip_right = b < inner_end;
        inner_end = b - 1;
      } else if (after < src_.size() && src_[after] == '}') {
        after += 1;
      } else {
        return error_at(at, "'{{{' is never closed with '}}}'");
      }
    } else if (inner_end > p && src_[inner_end - 1] == '~') {
      t.strip_right = true;
      --inner_end;
    }
    std::string_view inner = src_.substr(p, inner_end - p);
    t.expression_offset = p;
    std::size_t lead = 0;
    while (lead < inner.size() && is_space(inner[lead])) ++lead;
    if (triple) {
      t.tag = Tag::kOutput;
    } else if (!inner.empty()) {
      switch (inner[0]) {
        case '&': t.tag = Tag::kOutput; t.expression_offset += 1; break;
        case '#':
          if (inner.size() > 1 && inner[1] == '*') {
            t.tag = Tag::kInline;
            t.expression_offset += 2;
          } else if (inner.size() > 1 && inner[1] == '>') {
            return error_at(at, "Partial blocks ({{#> }}) are not supported");
          } else {
            t.tag = Tag::kOpen;
            t.expression_offset += 1;
          }
          break;
        case '^': {
          std::string_view rest = inner.substr(1);
          bool bare = std::all_of(rest.begin(), rest.end(), is_space);
          t.tag = bare ? Tag::kElse : Tag::kOpenInverse;
          t.expression_offset += 1;
          break;
        }
        case '/': t.tag = Tag::kClose; t.expression_offset += 1; break;
        case '>': t.tag = Tag::kPartial; t.expression_offset += 1; break;
        default: {
          std::string_view w = inner.substr(lead);
          if (w.substr(0, 4) == "else" && (w.size() == 4 || is_space(w[4]))) {
            t.tag = Tag::kElse;
            t.expression_offset = p + lead + 4;
          } else {
            t.tag = Tag::kOutput;
          }
        }
      }
    } else {
      return error_at(at, "An empty tag '{{}}'");
    }
    t.original = std::string(src_.substr(t.expression_offset, inner_end - t.expression_offset));
    tokens_.push_back(std::move(t));
    return after;
  }

  // -- 2. Whitespace control -------------------------------------------------------------
  // handlebars.js's WhitespaceControl over the flat token list: a standalone tag's line
  // (leading [ \t]*, the tag, trailing [ \t]* and the line break) disappears.
  bool text_at(std::ptrdiff_t i) const {
    return i >= 0 && std::size_t(i) < tokens_.size() && tokens_[std::size_t(i)].tag == Tag::kText;
  }
  bool prev_whitespace(std::size_t k) const {
    if (k == 0) return true;  // the start of the template
    if (!text_at(std::ptrdiff_t(k) - 1)) return false;
    const std::string& s = tokens_[k - 1].original;
    std::size_t j = s.size();
    while (j > 0 && is_space(s[j - 1]) && s[j - 1] != '\n') --j;
    if (j > 0 && s[j - 1] == '\n') return true;
    // Whitespace only: the line starts the template when nothing precedes it.
    return k == 1 && std::all_of(s.begin(), s.end(), is_space);
  }
  bool next_whitespace(std::size_t k) const {
    if (k + 1 >= tokens_.size()) return true;  // the end of the template
    if (!text_at(std::ptrdiff_t(k) + 1)) return false;
    const std::string& s = tokens_[k + 1].original;
    std::size_t j = 0;
    while (j < s.size() && is_space(s[j]) && s[j] != '\n') ++j;
    if (j < s.size() && s[j] == '\n') return true;
    return k + 2 == tokens_.size() && j == s.size();
  }
  void omit_right(std::size_t k, bool multiple) {  // the start of the text after tag k
    if (!text_at(std::ptrdiff_t(k) + 1)) return;
    Token& t = tokens_[k + 1];
    if (!multiple && t.right_stripped) return;
    std::string& v = t.value;
    std::size_t j = 0;
    if (multiple) {
      while (j < v.size() && is_space(v[j])) ++j;
    } else {
      while (j < v.size() && (v[j] == ' ' || v[j] == '\t')) ++j;
      if (j < v.size() && v[j] == '\r') ++j;
      if (j < v.size() && v[j] == '\n') ++j;
    }
    v.erase(0, j);
    t.right_stripped = t.right_stripped || j > 0;
  }
  bool omit_left(std::size_t k, bool multiple) {  // the end of the text before tag k
    if (k == 0 || !text_at(std::ptrdiff_t(k) - 1)) return false;
    Token& t = tokens_[k - 1];
    if (!multiple && t.left_stripped) return false;
    std::string& v = t.value;
    std::size_t j = v.size();
    if (multiple) {
      while (j > 0 && is_space(v[j - 1])) --j;
    } else {
      while (j > 0 && (v[j - 1] == ' ' || v[j - 1] == '\t')) --j;
    }
    bool stripped = j < v.size();
    v.erase(j);
    t.left_stripped = t.left_stripped || stripped;
    return stripped;
  }
  void whitespace_control() {
    indents_.assign(tokens_.size(), std::string());
    std::vector<Tag> open;  // to find the close of an inline partial
    for (std::size_t k = 0; k < tokens_.size(); ++k) {
      Token& t = tokens_[k];
      if (t.tag == Tag::kText) continue;
      if (t.strip_right) omit_right(k, true);
      if (t.strip_left) omit_left(k, true);
      if (t.tag == Tag::kOpen || t.tag == Tag::kOpenInverse || t.tag == Tag::kInline) open.push_back(t.tag);
      if (t.tag == Tag::kClose && !open.empty()) {
        // SES: the line break after an inline partial's definition is not rendered.
        if (open.back() == Tag::kInline && text_at(std::ptrdiff_t(k) + 1) && !tokens_[k + 1].right_stripped) {
          std::string& v = tokens_[k + 1].value;
          std::size_t j = v.rfind("\r\n", 0) == 0 ? 2 : v.rfind('\n', 0) == 0 ? 1 : 0;
          v.erase(0, j);
          tokens_[k + 1].right_stripped = j > 0;
        }
        open.pop_back();
      }
      if (standalone_kind(t.tag) && prev_whitespace(k) && next_whitespace(k)) {
        omit_right(k, false);
        if (omit_left(k, false) && t.tag == Tag::kPartial) {
          const std::string& before = tokens_[k - 1].original;
          std::size_t j = before.size();
          while (j > 0 && (before[j - 1] == ' ' || before[j - 1] == '\t')) --j;
          indents_[k] = before.substr(j);
        }
      }
    }
  }

  // -- 3. Expressions ---------------------------------------------------------------------
  struct Cursor {
    std::string_view s;
    std::size_t base;  // source offset of s[0]
    std::size_t i = 0;
    void skip() {
      while (i < s.size() && is_space(s[i])) ++i;
    }
    bool done() {
      skip();
      return i >= s.size();
    }
    std::size_t at() const { return base + i; }
  };

  bool delimiter(const Cursor& c, std::size_t j) const {
    return j >= c.s.size() || is_space(c.s[j]) || c.s[j] == ')' || c.s[j] == '}' || c.s[j] == '~' || c.s[j] == '|' ||
           c.s[j] == '=';
  }

  Result<Path> parse_path(Cursor& c) {
    Path p;
    std::size_t start = c.i;
    if (c.i < c.s.size() && c.s[c.i] == '@') {
      p.data = true;
      ++c.i;
    }
    bool first = true;
    while (true) {
      std::string seg;
      if (c.i < c.s.size() && c.s[c.i] == '[') {
        std::size_t e = c.s.find(']', c.i + 1);
        if (e == std::string_view::npos) return error_at(c.at(), "'[' without ']' in a path");
        seg = std::string(c.s.substr(c.i + 1, e - c.i - 1));
        c.i = e + 1;
        p.parts.push_back(std::move(seg));
      } else if (c.s.substr(c.i, 2) == ".." && (c.i + 2 >= c.s.size() || c.s[c.i + 2] == '/' || delimiter(c, c.i + 2))) {
        if (!first || p.data) return error_at(c.at(), "'..' is allowed only at the start of a path");
        c.i += 2;
        ++p.depth;
        p.scoped = true;
        if (c.i < c.s.size() && c.s[c.i] == '/') {
          ++c.i;
          continue;  // ../../x: still at the start
        }
        break;
      } else if (c.i < c.s.size() && c.s[c.i] == '.' && (c.i + 1 >= c.s.size() || c.s[c.i + 1] == '/' || delimiter(c, c.i + 1))) {
        if (!(first && p.parts.empty())) return error_at(c.at(), "'.' in the middle of a path");
        ++c.i;
        p.scoped = true;  // "." and "./x" are this
      } else {
        std::size_t j = c.i;
        while (j < c.s.size() && id_char(c.s[j])) ++j;
        if (j == c.i) return error_at(c.at(), "Expected a name in the expression");
        seg = std::string(c.s.substr(c.i, j - c.i));
        c.i = j;
        if (first && p.parts.empty() && !p.data && seg == "this") p.scoped = true;
        else p.parts.push_back(std::move(seg));
      }
      first = false;
      if (c.i < c.s.size() && (c.s[c.i] == '.' || c.s[c.i] == '/') && c.i + 1 < c.s.size() && !delimiter(c, c.i + 1)) {
        ++c.i;
        continue;
      }
      break;
    }
    if (!delimiter(c, c.i)) return error_at(c.at(), "Unexpected '" + std::string(1, c.s[c.i]) + "' in the expression");
    if (p.data && p.parts.empty()) return error_at(c.base + start, "'@' without a name");
    p.original = std::string(c.s.substr(start, c.i - start));
    p.hints = std::make_unique<std::atomic<std::uint32_t>[]>(p.parts.size());
    for (std::size_t i = 0; i < p.parts.size(); ++i) p.hints[i].store(0, std::memory_order_relaxed);
    if (!p.scoped && !p.data && !p.parts.empty() && p.depth == 0)
      for (const auto& names : block_params_)
        if (std::find(names.begin(), names.end(), p.parts[0]) != names.end()) p.block_param = true;
    return p;
  }

  Result<Expr> parse_expr(Cursor& c, std::size_t depth) {
    c.skip();
    Expr e;
    if (c.i >= c.s.size()) return error_at(c.at(), "Expected an expression");
    char ch = c.s[c.i];
    if (ch == '(') {
      if (depth >= limits_.max_expression_depth) return error_at(c.at(), "Sub-expressions nested too deeply");
      ++c.i;
      e.kind = Expr::Kind::kCall;
      SESAME_ASSIGN(auto call, parse_call(c, depth + 1, ")"));
      e.call = std::make_unique<Call>(std::move(call));
      if (c.done() || c.s[c.i] != ')') return error_at(c.at(), "Expected ')'");
      ++c.i;
      return e;
    }
    if (ch == '"' || ch == '\'') {
      std::string v;
      std::size_t j = c.i + 1;
      for (; j < c.s.size() && c.s[j] != ch; ++j) {
        if (c.s[j] == '\\' && j + 1 < c.s.size() && c.s[j + 1] == ch) ++j;
        v.push_back(c.s[j]);
      }
      if (j >= c.s.size()) return error_at(c.at(), "A string literal is never closed");
      c.i = j + 1;
      e.literal = std::move(v);
      return e;
    }
    // Numbers and keywords when a delimiter follows; otherwise a path.
    std::size_t j = c.i;
    if (j < c.s.size() && c.s[j] == '-') ++j;
    std::size_t digits = j;
    while (j < c.s.size() && std::isdigit(static_cast<unsigned char>(c.s[j]))) ++j;
    if (j > digits) {
      if (j + 1 < c.s.size() && c.s[j] == '.' && std::isdigit(static_cast<unsigned char>(c.s[j + 1]))) {
        ++j;
        while (j < c.s.size() && std::isdigit(static_cast<unsigned char>(c.s[j]))) ++j;
      }
      if (delimiter(c, j)) {
        std::string num(c.s.substr(c.i, j - c.i));
        c.i = j;
        e.literal = Data::parse(num, nullptr, false);
        if (e.literal.is_discarded()) e.literal = std::stod(num);
        return e;
      }
    }
    for (std::string_view kw : {"true", "false", "null", "undefined"}) {
      if (c.s.substr(c.i, kw.size()) == kw && delimiter(c, c.i + kw.size())) {
        c.i += kw.size();
        if (kw == "true") e.literal = true;
        else if (kw == "false") e.literal = false;
        else if (kw == "null") e.literal = nullptr;
        else e.literal = Data(Data::value_t::discarded);
        return e;
      }
    }
    e.kind = Expr::Kind::kPath;
    SESAME_ASSIGN(e.path, parse_path(c));
    return e;
  }

  static Helper helper_of(const Expr& head) {
    if (head.kind != Expr::Kind::kPath) return Helper::kNone;
    const Path& p = head.path;
    if (p.scoped || p.data || p.block_param || p.depth || p.parts.size() != 1) return Helper::kNone;
    const std::string& n = p.parts[0];
    if (n == "if") return Helper::kIf;
    if (n == "unless") return Helper::kUnless;
    if (n == "each") return Helper::kEach;
    if (n == "with") return Helper::kWith;
    if (n == "lookup") return Helper::kLookup;
    if (n == "log") return Helper::kLog;
    return Helper::kNone;
  }

  /// head param… key=value… [as |a b|], up to the end of the tag (or `until`).
  Result<Call> parse_call(Cursor& c, std::size_t depth, std::string_view until = {}) {
    Call call;
    SESAME_ASSIGN(call.head, parse_expr(c, depth));
    call.helper = helper_of(call.head);
    while (!c.done()) {
      if (!until.empty() && c.s.substr(c.i, until.size()) == until) break;
      // Block parameters: as |a b|
      if (c.s.substr(c.i, 2) == "as" && c.i + 2 < c.s.size() && is_space(c.s[c.i + 2])) {
        Cursor probe = c;
        probe.i += 2;
        probe.skip();
        if (probe.i < probe.s.size() && probe.s[probe.i] == '|') {
          probe.i += 1;
          while (true) {
            probe.skip();
            if (probe.i >= probe.s.size()) return error_at(probe.at(), "Block parameters are never closed with '|'");
            if (probe.s[probe.i] == '|') {
              ++probe.i;
              break;
            }
            std::size_t j = probe.i;
            while (j < probe.s.size() && id_char(probe.s[j])) ++j;
            if (j == probe.i) return error_at(probe.at(), "Expected a block parameter name");
            call.block_params.emplace_back(probe.s.substr(probe.i, j - probe.i));
            probe.i = j;
          }
          c = probe;
          if (!c.done() && !(until.size() && c.s.substr(c.i, until.size()) == until))
            return error_at(c.at(), "Nothing may follow the block parameters");
          break;
        }
      }
      // Hash argument: name=value
      std::size_t j = c.i;
      while (j < c.s.size() && id_char(c.s[j])) ++j;
      if (j > c.i && j < c.s.size() && c.s[j] == '=') {
        std::string key(c.s.substr(c.i, j - c.i));
        c.i = j + 1;
        SESAME_ASSIGN(auto value, parse_expr(c, depth));
        call.hash.emplace_back(std::move(key), std::move(value));
        continue;
      }
      if (!call.hash.empty()) return error_at(c.at(), "Parameters must come before hash arguments");
      SESAME_ASSIGN(auto param, parse_expr(c, depth));
      call.params.push_back(std::move(param));
    }
    return call;
  }

  Result<Call> call_of(const Token& t) {
    Cursor c{t.original, t.expression_offset};
    if (c.done()) return error_at(t.offset, "A tag without an expression");
    SESAME_ASSIGN(auto call, parse_call(c, 0));
    if (!c.done()) return error_at(c.at(), "Unexpected text in the tag");
    return call;
  }

  // -- 4. The tree -------------------------------------------------------------------------
  /// Parses nodes into `prog` until a close or else tag (its index is returned) or the end.
  Result<std::size_t> parse_body(Program& prog, std::size_t depth) {
    while (k_ < tokens_.size()) {
      Token& t = tokens_[k_];
      switch (t.tag) {
        case Tag::kText:
          if (!t.value.empty()) {
            if (!prog.nodes.empty() && prog.nodes.back().kind == Node::Kind::kText) prog.nodes.back().text += t.value;
            else {
              Node n;
              n.text = std::move(t.value);
              prog.nodes.push_back(std::move(n));
            }
          }
          ++k_;
          break;
        case Tag::kComment:
          ++k_;
          break;
        case Tag::kOutput: {
          Node n;
          n.kind = Node::Kind::kOutput;
          SESAME_ASSIGN(n.call, call_of(t));
          if (!n.call.block_params.empty()) return error_at(t.offset, "Block parameters on a tag that is not a block");
          locate(n, t.offset);
          prog.nodes.push_back(std::move(n));
          ++k_;
          break;
        }
        case Tag::kPartial: {
          Node n;
          n.kind = Node::Kind::kPartial;
          Cursor c{t.original, t.expression_offset};
          if (c.done()) return error_at(t.offset, "A partial without a name");
          if (c.s[c.i] == '(') return error_at(c.at(), "Dynamic partials are not supported");
          SESAME_ASSIGN(n.call, parse_call(c, 0));
          if (n.call.head.kind == Expr::Kind::kPath) n.text = n.call.head.path.original;
          else if (n.call.head.literal.is_string()) n.text = n.call.head.literal.get<std::string>();
          else n.text = n.call.head.literal.dump();
          if (n.call.params.size() > 1) return error_at(t.offset, "A partial takes at most one context parameter");
          n.indent = indents_[k_];
          locate(n, t.offset);
          prog.nodes.push_back(std::move(n));
          ++k_;
          break;
        }
        case Tag::kInline: {
          Cursor c{t.original, t.expression_offset};
          SESAME_ASSIGN(auto call, parse_call(c, 0));
          if (call.head.kind != Expr::Kind::kPath || call.head.path.original != "inline")
            return error_at(t.offset, "Only the 'inline' decorator is supported");
          if (call.params.size() != 1 || call.params[0].kind != Expr::Kind::kLiteral || !call.params[0].literal.is_string())
            return error_at(t.offset, "An inline partial needs its name as a string: {{#*inline \"name\"}}");
          if (depth + 1 > limits_.max_block_depth) return error_at(t.offset, "Blocks are nested too deeply");
          auto body = std::make_unique<Program>();
          std::size_t open = k_++;
          SESAME_ASSIGN(std::size_t stop, parse_body(*body, depth + 1));
          SESAME_CHECK(expect_close(open, stop, "inline"));
          prog.partials.emplace_back(call.params[0].literal.get<std::string>(), body.get());
          prog.owned.push_back(std::move(body));
          break;
        }
        case Tag::kOpen:
        case Tag::kOpenInverse: {
          if (depth + 1 > limits_.max_block_depth)
            return error_at(t.offset, "Blocks are nested more than " + std::to_string(limits_.max_block_depth) + " deep");
          Node n;
          n.kind = Node::Kind::kBlock;
          n.inverted = t.tag == Tag::kOpenInverse;
          SESAME_ASSIGN(n.call, call_of(t));
          locate(n, t.offset);
          std::size_t open = k_++;
          SESAME_CHECK(parse_block(n, open, depth + 1, false));
          prog.nodes.push_back(std::move(n));
          break;
        }
        case Tag::kClose:
        case Tag::kElse:
          return k_;
      }
    }
    return k_;
  }

  /// The body (and else parts) of the block opened at token `open`, through its close. A
  /// chained block ({{else if x}}) stops at the close, which its opener consumes.
  Status parse_block(Node& n, std::size_t open, std::size_t depth, bool chained) {
    block_params_.push_back(n.call.block_params);  // visible in the body, not in the else part
    n.body = std::make_unique<Program>();
    auto body_stop = parse_body(*n.body, depth);
    block_params_.pop_back();
    SESAME_ASSIGN(std::size_t stop, std::move(body_stop));
    if (stop < tokens_.size() && tokens_[stop].tag == Tag::kElse) {
      const Token& e = tokens_[stop];
      ++k_;
      n.inverse = std::make_unique<Program>();
      Cursor c{e.original, e.expression_offset};
      if (!c.done()) {
        // {{else if x}}: a block of its own in the inverse, closed by the same {{/…}}.
        if (depth + 1 > limits_.max_block_depth) return error_at(e.offset, "Blocks are nested too deeply");
        Node link;
        link.kind = Node::Kind::kBlock;
        SESAME_ASSIGN(link.call, call_of(e));
        locate(link, e.offset);
        SESAME_CHECK(parse_block(link, open, depth + 1, true));
        n.inverse->nodes.push_back(std::move(link));
        stop = k_;
      } else {
        SESAME_ASSIGN(stop, parse_body(*n.inverse, depth));
      }
    }
    if (chained) {
      if (stop < tokens_.size() && tokens_[stop].tag == Tag::kClose) return base::ok_status();
      return expect_close(open, stop, name_of(tokens_[open]));
    }
    SESAME_CHECK(expect_close(open, stop, name_of(tokens_[open])));
    // {{^x}}A{{else}}B{{/x}} is {{#x}}B{{else}}A{{/x}}.
    if (n.inverted) std::swap(n.body, n.inverse);
    return base::ok_status();
  }

  std::string name_of(const Token& t) const {
    Cursor c{t.original, t.expression_offset};
    c.skip();
    std::size_t j = c.i;
    while (j < c.s.size() && !is_space(c.s[j])) ++j;
    return std::string(c.s.substr(c.i, j - c.i));
  }

  Status expect_close(std::size_t open, std::size_t stop, const std::string& name) {
    const Token& o = tokens_[open];
    std::string shown = o.tag == Tag::kInline ? "#*inline" : o.tag == Tag::kOpenInverse ? "^" + name : "#" + name;
    if (stop >= tokens_.size()) return error_at(o.offset, "'{{" + shown + "}}' is never closed");
    const Token& c = tokens_[stop];
    if (c.tag == Tag::kElse) return error_at(c.offset, "A second {{else}} in '{{" + shown + "}}'");
    std::string closing(base_trim(c.original));
    if (closing != name)
      return error_at(c.offset, "'{{/" + closing + "}}' does not match '{{" + shown + "}}' (line " + line_of(o.offset) + ")");
    ++k_;
    return base::ok_status();
  }

  static std::string_view base_trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
  }
  std::string line_of(std::size_t offset) const {
    return std::to_string(std::size_t(std::lower_bound(newlines_.begin(), newlines_.end(), offset) - newlines_.begin()) + 1);
  }
  void locate(Node& n, std::size_t offset) const {
    auto it = std::lower_bound(newlines_.begin(), newlines_.end(), offset);
    n.line = std::size_t(it - newlines_.begin()) + 1;
    n.column = offset - (it == newlines_.begin() ? 0 : *(it - 1) + 1) + 1;
  }

  Status run(Program& root) {
    if (src_.size() > limits_.max_bytes)
      return base::make_error(ErrorCode::kInvalidParameter,
                              "The template is larger than " + std::to_string(limits_.max_bytes) + " bytes");
    SESAME_CHECK(lex());
    whitespace_control();
    SESAME_ASSIGN(std::size_t stop, parse_body(root, 0));
    if (stop < tokens_.size()) {
      const Token& t = tokens_[stop];
      if (t.tag == Tag::kElse) return error_at(t.offset, "{{else}} outside a block");
      return error_at(t.offset, "'{{/" + std::string(base_trim(t.original)) + "}}' closes no open block");
    }
    return base::ok_status();
  }

 private:
  std::string_view src_;
  CompileLimits limits_;
  std::vector<std::size_t> newlines_;
  std::vector<Token> tokens_;
  std::vector<std::string> indents_;
  std::vector<std::vector<std::string>> block_params_;
  std::size_t k_ = 0;
};
}  // namespace

Template::Template() : root_(std::make_unique<Program>()) {}
Template::~Template() = default;

Result<std::shared_ptr<const Template>> Template::compile(std::string_view source, const CompileLimits& limits) {
  std::shared_ptr<Template> t(new Template());
  Compiler compiler(source, limits);
  SESAME_CHECK(compiler.run(*t->root_));
  return std::shared_ptr<const Template>(std::move(t));
}

}  // namespace sesame::templating
