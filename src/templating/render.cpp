// Template::render: walks the compiled tree over the data. Contexts, @data variables and
// block parameters live in a chain of frames on the C++ stack; `../` climbs to the previous
// distinct context, as Handlebars' depths do. Values print as JavaScript prints them
// (numbers, true/false, arrays joined by ","), and nothing is HTML-escaped (SES).
#include <charconv>
#include <cmath>
#include <cstring>

#include "templating/program.hpp"

namespace sesame::templating {
namespace {
using base::ErrorCode;
using base::Result;
using base::Status;

/// A value during rendering: a reference into the data, a computed value, or undefined.
class Value {
 public:
  Value() = default;
  static Value ref(const Data* p) {
    Value v;
    v.p_ = p;
    return v;
  }
  static Value owned(Data d) {
    Value v;
    v.owned_ = std::move(d);
    v.has_owned_ = true;
    return v;
  }
  const Data* get() const { return has_owned_ ? &owned_ : p_; }
  bool defined() const { return has_owned_ || p_ != nullptr; }
  bool is_owned() const { return has_owned_; }

 private:
  const Data* p_ = nullptr;
  Data owned_;
  bool has_owned_ = false;
};

struct Frame {
  const Data* context = nullptr;
  const Frame* parent = nullptr;
  const Program* program = nullptr;  // for inline partials in scope
  // @index/@key/@first/@last of the innermost {{#each}} iteration
  bool iteration = false;
  std::size_t index = 0;
  bool first = false, last = false;
  const std::string* key = nullptr;
  // block parameters (as |a b|)
  const std::vector<std::string>* block_param_names = nullptr;
  const Data* block_param_values[2] = {nullptr, nullptr};
};

/// JavaScript's Number.prototype.toString for a double (ECMA-262 Number::toString).
void append_js_number(std::string& out, double x) {
  if (std::isnan(x)) {
    out += "NaN";
    return;
  }
  if (std::isinf(x)) {
    out += x < 0 ? "-Infinity" : "Infinity";
    return;
  }
  if (x == 0) {
    out += '0';
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string_view s(buf, std::size_t(r.ptr - buf));
  if (s.front() == '-') {
    out += '-';
    s.remove_prefix(1);
  }
  std::size_t e_pos = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e_pos))
    if (c != '.') digits += c;
  int exponent = 0;
  std::from_chars(s.data() + e_pos + 1 + (s[e_pos + 1] == '+' ? 1 : 0), s.data() + s.size(), exponent);
  const int k = int(digits.size()), n = exponent + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(std::size_t(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, std::size_t(n));
    out += '.';
    out.append(digits, std::size_t(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(std::size_t(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
}

/// What JavaScript's String(value) gives, which is what Handlebars prints.
void append_value(std::string& out, const Data& v) {
  switch (v.type()) {
    case Data::value_t::string: out += v.get_ref<const std::string&>(); break;
    case Data::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
    case Data::value_t::number_integer: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get<std::int64_t>());
      out.append(buf, r.ptr);
      break;
    }
    case Data::value_t::number_unsigned: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get<std::uint64_t>());
      out.append(buf, r.ptr);
      break;
    }
    case Data::value_t::number_float: append_js_number(out, v.get<double>()); break;
    case Data::value_t::array: {
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        if (!e.is_null()) append_value(out, e);
      }
      break;
    }
    case Data::value_t::object: out += "[object Object]"; break;
    default: break;  // null, discarded (undefined), binary
  }
}

std::size_t utf16_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;   // a code point starts
    if ((c & 0xF8) == 0xF0) ++n;   // four-byte sequences are surrogate pairs in JavaScript
  }
  return n;
}

/// value[part], as JavaScript property access does for JSON values.
Value member(const Data* v, const std::string& part) {
  if (v == nullptr) return {};
  if (v->is_object()) {
    for (const auto& kv : v->get_ref<const Data::object_t&>())
      if (kv.first == part) return Value::ref(&kv.second);
    return {};
  }
  if (v->is_array()) {
    if (part == "length") return Value::owned(Data(v->size()));
    std::size_t idx = 0;
    auto r = std::from_chars(part.data(), part.data() + part.size(), idx);
    if (r.ec == std::errc() && r.ptr == part.data() + part.size() && !part.empty() && (part.size() == 1 || part[0] != '0') &&
        idx < v->size())
      return Value::ref(&(*v)[idx]);
    return {};
  }
  if (v->is_string() && part == "length") return Value::owned(Data(utf16_length(v->get_ref<const std::string&>())));
  return {};
}

Value walk(Value v, const std::vector<std::string>& parts, std::size_t from) {
  for (std::size_t i = from; i < parts.size() && v.defined(); ++i) v = member(v.get(), parts[i]);
  return v;
}

/// Handlebars' `if` test: false for undefined, null, false, "", 0, NaN and [].
bool truthy(const Data* v, bool include_zero) {
  if (v == nullptr) return false;
  switch (v->type()) {
    case Data::value_t::null:
    case Data::value_t::discarded: return false;
    case Data::value_t::boolean: return v->get<bool>();
    case Data::value_t::string: return !v->get_ref<const std::string&>().empty();
    case Data::value_t::number_integer: return include_zero || v->get<std::int64_t>() != 0;
    case Data::value_t::number_unsigned: return include_zero || v->get<std::uint64_t>() != 0;
    case Data::value_t::number_float: {
      double d = v->get<double>();
      return !std::isnan(d) && (include_zero || d != 0);
    }
    case Data::value_t::array: return !v->empty();
    default: return true;
  }
}

/// Handlebars' isEmpty (used by `with` and `each`): like `if`, except that 0 is not empty.
bool empty_value(const Data* v) { return !truthy(v, true); }

class Renderer {
 public:
  Renderer(const Data& root, std::string& out, const RenderLimits& limits)
      : root_(root), out_(out), limits_(limits), start_(out.size()) {}

  Status program(const Program* p, const Data* context, const Frame* parent, Frame* frame_template = nullptr) {
    if (p == nullptr) return base::ok_status();
    if (++depth_ > limits_.max_call_depth) return limit("blocks and partials are active more than " + std::to_string(limits_.max_call_depth) + " deep");
    Frame f = frame_template ? *frame_template : Frame{};
    f.context = context;
    f.parent = parent;
    f.program = p;
    for (const Node& n : p->nodes) SESAME_CHECK(node(n, f));
    --depth_;
    return base::ok_status();
  }

 private:
  Status limit(const std::string& what) const {
    return base::make_error(ErrorCode::kLimitExceeded, "Rendering stopped: " + what + ".");
  }
  Status step() {
    if (++steps_ > limits_.max_steps) return limit("the template needs more than " + std::to_string(limits_.max_steps) + " steps");
    if (out_.size() - start_ > limits_.max_output_bytes)
      return limit("the output is larger than " + std::to_string(limits_.max_output_bytes) + " bytes");
    return base::ok_status();
  }
  static base::Error missing(const std::string& name) {
    return base::make_error(ErrorCode::kNotFound, "Attribute '" + name + "' is not present in the rendering data.",
                            "rendering-attribute");
  }
  static base::Error failure(const Node& n, const std::string& what) {
    return base::make_error(ErrorCode::kInvalidParameter,
                            what + " (line " + std::to_string(n.line) + ", column " + std::to_string(n.column) + ")");
  }

  Value resolve(const Path& path, const Frame& f) const {
    if (path.data) {
      const std::string& name = path.parts[0];
      Value v;
      if (name == "root") {
        v = Value::ref(&root_);
      } else {
        const Frame* it = &f;
        while (it && !it->iteration) it = it->parent;
        if (!it) return {};
        if (name == "index") v = Value::owned(Data(it->index));
        else if (name == "first") v = Value::owned(Data(it->first));
        else if (name == "last") v = Value::owned(Data(it->last));
        else if (name == "key" && it->key) v = Value::owned(Data(*it->key));
        else if (name == "key") v = Value::owned(Data(it->index));
        else return {};
      }
      return walk(std::move(v), path.parts, 1);
    }
    if (path.block_param) {
      for (const Frame* it = &f; it; it = it->parent) {
        if (!it->block_param_names) continue;
        const auto& names = *it->block_param_names;
        for (std::size_t i = 0; i < names.size() && i < 2; ++i)
          if (names[i] == path.parts[0]) return walk(Value::ref(it->block_param_values[i]), path.parts, 1);
      }
      return {};
    }
    const Frame* it = &f;
    for (int d = 0; d < path.depth; ++d) {
      const Data* here = it->context;
      while (it && it->context == here) it = it->parent;
      if (!it) return {};
    }
    return walk(Value::ref(it->context), path.parts, 0);
  }

  Result<Value> evaluate(const Expr& e, const Frame& f) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        if (e.literal.is_discarded()) return Value();
        return Value::ref(&e.literal);
      case Expr::Kind::kPath: return resolve(e.path, f);
      case Expr::Kind::kCall: return call_value(*e.call, f);
    }
    return Value();
  }

  /// A sub-expression, or a helper in output position.
  Result<Value> call_value(const Call& c, const Frame& f) {
    switch (c.helper) {
      case Helper::kLookup: {
        if (c.params.size() != 2) return base::make_error(ErrorCode::kInvalidParameter, "lookup needs two parameters");
        SESAME_ASSIGN(auto obj, evaluate(c.params[0], f));
        SESAME_ASSIGN(auto key, evaluate(c.params[1], f));
        if (!obj.defined() || !key.defined()) return Value();
        std::string k;
        if (key.get()->is_string()) k = key.get()->get<std::string>();
        else append_value(k, *key.get());
        Value v = member(obj.get(), k);
        // A reference into a computed object must not outlive it: copy.
        if (obj.is_owned() && v.defined() && !v.is_owned()) return Value::owned(*v.get());
        return v;
      }
      case Helper::kLog: return Value();
      case Helper::kIf:
      case Helper::kUnless:
      case Helper::kEach:
      case Helper::kWith:
        return base::make_error(ErrorCode::kInvalidParameter, "The " + c.head.path.original + " helper needs a block ({{#" +
                                                                  c.head.path.original + " …}})");
      case Helper::kNone: break;
    }
    if (!c.params.empty() || !c.hash.empty()) {
      // An unknown helper: SES reports it as a missing attribute ("Attribute 'IF' …").
      return missing(c.head.kind == Expr::Kind::kPath ? c.head.path.original : c.head.literal.dump());
    }
    if (c.head.kind == Expr::Kind::kCall) return call_value(*c.head.call, f);
    return evaluate(c.head, f);
  }

  Status node(const Node& n, const Frame& f) {
    SESAME_CHECK(step());
    switch (n.kind) {
      case Node::Kind::kText: out_ += n.text; return base::ok_status();
      case Node::Kind::kOutput: return output(n, f);
      case Node::Kind::kBlock: return block(n, f);
      case Node::Kind::kPartial: return partial(n, f);
    }
    return base::ok_status();
  }

  Status output(const Node& n, const Frame& f) {
    const Call& c = n.call;
    if (c.helper == Helper::kNone && c.params.empty() && c.hash.empty() && c.head.kind == Expr::Kind::kPath) {
      // A plain substitution: strict, as SES is.
      Value v = resolve(c.head.path, f);
      if (!v.defined()) return missing(c.head.path.original);
      append_value(out_, *v.get());
      return base::ok_status();
    }
    auto v = call_value(c, f);
    if (!v.ok()) return v.error().code == ErrorCode::kInvalidParameter ? failure(n, v.error().message) : Status(v.error());

    if (v.value().defined()) append_value(out_, *v.value().get());
    return base::ok_status();
  }

  Status block(const Node& n, const Frame& f) {
    const Call& c = n.call;
    auto param = [&](std::size_t i) -> Result<Value> {
      if (c.params.size() != 1) return failure(n, "#" + c.head.path.original + " takes exactly one parameter");
      return evaluate(c.params[i], f);
    };
    switch (c.helper) {
      case Helper::kIf:
      case Helper::kUnless: {
        SESAME_ASSIGN(auto v, param(0));
        bool include_zero = false;
        for (const auto& [k, e] : c.hash)
          if (k == "includeZero") {
            SESAME_ASSIGN(auto z, evaluate(e, f));
            include_zero = truthy(z.get(), false);
          }
        bool yes = truthy(v.get(), include_zero) != (c.helper == Helper::kUnless);
        return program(yes ? n.body.get() : n.inverse.get(), f.context, &f);
      }
      case Helper::kWith: {
        SESAME_ASSIGN(auto v, param(0));
        if (empty_value(v.get())) return program(n.inverse.get(), f.context, &f);
        Frame t;
        t.block_param_names = c.block_params.empty() ? nullptr : &c.block_params;
        t.block_param_values[0] = v.get();
        return program(n.body.get(), v.get(), &f, &t);
      }
      case Helper::kEach: {
        SESAME_ASSIGN(auto v, param(0));
        return each(n, v.get(), f);
      }
      case Helper::kLookup:
      case Helper::kLog: return failure(n, c.head.path.original + " is not a block helper");
      case Helper::kNone: break;
    }
    if (!c.params.empty() || !c.hash.empty() || c.head.kind != Expr::Kind::kPath)
      return missing(c.head.kind == Expr::Kind::kPath ? c.head.path.original : c.head.literal.dump());
    // A section ({{#x}} / {{^x}}): Handlebars' blockHelperMissing.
    Value v = resolve(c.head.path, f);
    if (!v.defined()) return missing(c.head.path.original);
    const Data* d = v.get();
    if (d->is_boolean() && d->get<bool>()) return program(n.body.get(), f.context, &f);
    if (d->is_null() || (d->is_boolean() && !d->get<bool>())) return program(n.inverse.get(), f.context, &f);
    if (d->is_array()) {
      if (d->empty()) return program(n.inverse.get(), f.context, &f);
      return each(n, d, f);
    }
    return program(n.body.get(), d, &f);  // objects, strings, numbers become the context
  }

  Status each(const Node& n, const Data* v, const Frame& f) {
    const auto* names = n.call.block_params.empty() ? nullptr : &n.call.block_params;
    std::size_t count = 0;
    if (v && v->is_array()) {
      const std::size_t size = v->size();
      for (std::size_t i = 0; i < size; ++i) {
        SESAME_CHECK(step());
        Data index(i);
        Frame t;
        t.iteration = true;
        t.index = i;
        t.first = i == 0;
        t.last = i + 1 == size;
        t.block_param_names = names;
        t.block_param_values[0] = &(*v)[i];
        t.block_param_values[1] = &index;
        SESAME_CHECK(program(n.body.get(), &(*v)[i], &f, &t));
        ++count;
      }
    } else if (v && v->is_object()) {
      const auto& obj = v->get_ref<const Data::object_t&>();
      std::size_t i = 0;
      for (const auto& kv : obj) {
        SESAME_CHECK(step());
        Data key(kv.first);
        Frame t;
        t.iteration = true;
        t.index = i;
        t.first = i == 0;
        t.last = i + 1 == obj.size();
        t.key = &kv.first;
        t.block_param_names = names;
        t.block_param_values[0] = &kv.second;
        t.block_param_values[1] = &key;
        SESAME_CHECK(program(n.body.get(), &kv.second, &f, &t));
        ++i;
        ++count;
      }
    }
    if (count == 0) return program(n.inverse.get(), f.context, &f);
    return base::ok_status();
  }

  Status partial(const Node& n, const Frame& f) {
    const Program* target = nullptr;
    for (const Frame* it = &f; it && !target; it = it->parent)
      for (const auto& [name, body] : it->program->partials)
        if (name == n.text) {
          target = body;
          break;
        }
    if (!target) return failure(n, "The partial " + n.text + " could not be found");
    const Data* context = f.context;
    Value given;
    if (!n.call.params.empty()) {
      auto v = evaluate(n.call.params[0], f);
      if (!v.ok()) return v.error();
      given = std::move(v).value();
      context = given.get();
    }
    Data extended;
    if (!n.call.hash.empty()) {
      extended = context && context->is_object() ? *context : Data::object();
      for (const auto& [k, e] : n.call.hash) {
        auto v = evaluate(e, f);
        if (!v.ok()) return v.error();
        extended[k] = v.value().defined() ? *v.value().get() : Data();
      }
      context = &extended;
    }
    if (n.indent.empty()) return program(target, context, &f);
    // A standalone partial: its indentation is given to every line it renders.
    std::size_t from = out_.size();
    SESAME_CHECK(program(target, context, &f));
    std::string rendered = out_.substr(from);
    out_.resize(from);
    std::size_t line = 0;
    while (line < rendered.size()) {
      std::size_t nl = rendered.find('\n', line);
      std::size_t end = nl == std::string::npos ? rendered.size() : nl + 1;
      out_ += n.indent;
      out_.append(rendered, line, end - line);
      line = end;
    }
    return step();
  }

  const Data& root_;
  std::string& out_;
  RenderLimits limits_;
  std::size_t start_;
  std::uint64_t steps_ = 0;
  std::size_t depth_ = 0;
};
}  // namespace

Status Template::render(const Data& data, std::string& out, const RenderLimits& limits) const {
  Renderer r(data, out, limits);
  SESAME_CHECK(r.program(root_.get(), &data, nullptr));
  if (out.size() > limits.max_output_bytes)
    return base::make_error(ErrorCode::kLimitExceeded,
                            "Rendering stopped: the output is larger than " + std::to_string(limits.max_output_bytes) + " bytes.");
  return base::ok_status();
}

Result<std::string> Template::render(const Data& data, const RenderLimits& limits) const {
  std::string out;
  SESAME_CHECK(render(data, out, limits));
  return out;
}

Result<Data> parse_data(std::string_view text, std::size_t max_depth) {
  // The nesting is measured first: the parser itself has no depth limit.
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth)
        return base::make_error(ErrorCode::kInvalidParameter,
                                "Template data is nested more than " + std::to_string(max_depth) + " levels deep.");
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  Data d = Data::parse(text, nullptr, false);
  if (d.is_discarded()) return base::make_error(ErrorCode::kInvalidParameter, "Template data is not valid JSON.");
  if (!d.is_object()) return base::make_error(ErrorCode::kInvalidParameter, "Template data must be a JSON object.");
  return d;
}

}  // namespace sesame::templating
