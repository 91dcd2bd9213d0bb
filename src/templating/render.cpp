// Template::render: walks the compiled tree over the data. Contexts, @data variables and
// block parameters live in a chain of frames on the C++ stack; `../` climbs to the previous
// distinct context, as Handlebars' depths do. Values print as JavaScript prints them
// (numbers, true/false, arrays joined by ","), and nothing is HTML-escaped (SES).
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <type_traits>

#include "templating/program.hpp"

namespace sesame::templating {
namespace {
using base::ErrorCode;
using base::Result;
using base::Status;

/// A value during rendering: a reference into the data (or a literal), a computed scalar
/// (a length or @index, @first/@last, @key), or undefined. Cheap to copy: nothing owned.
struct Value {
  enum class Kind : std::uint8_t { kUndefined, kRef, kNumber, kBool, kKey };
  // 16 bytes and trivially copyable: returned in registers (this is the hot path).
  union {
    const Data* ref;          // kRef
    const std::string* key;   // kKey
    std::uint64_t number;     // kNumber
  };
  Kind kind = Kind::kUndefined;
  bool flag = false;  // kBool

  Value() : ref(nullptr) {}
  static Value of(const Data* p) {
    Value v;
    v.kind = Kind::kRef;
    v.ref = p;
    return v;
  }
  static Value of_number(std::uint64_t n) {
    Value v;
    v.kind = Kind::kNumber;
    v.number = n;
    return v;
  }
  static Value of_bool(bool b) {
    Value v;
    v.kind = Kind::kBool;
    v.flag = b;
    return v;
  }
  static Value of_key(const std::string* k) {
    Value v;
    v.kind = Kind::kKey;
    v.key = k;
    return v;
  }
  bool defined() const { return kind != Kind::kUndefined; }
  bool is(Data::value_t t) const { return kind == Kind::kRef && ref->type() == t; }
  /// As a JSON value; `storage` keeps a computed one alive.
  const Data* data(Data& storage) const {
    switch (kind) {
      case Kind::kRef: return ref;
      case Kind::kNumber: storage = number; return &storage;
      case Kind::kBool: storage = flag; return &storage;
      case Kind::kKey: storage = *key; return &storage;
      case Kind::kUndefined: break;
    }
    return nullptr;
  }
};
static_assert(sizeof(Value) == 16 && std::is_trivially_copyable_v<Value>);

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
  Value block_param_values[2];
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

void append_value(std::string& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kRef: append_value(out, *v.ref); break;
    case Value::Kind::kNumber: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.number);
      out.append(buf, r.ptr);
      break;
    }
    case Value::Kind::kBool: out += v.flag ? "true" : "false"; break;
    case Value::Kind::kKey: out += *v.key; break;
    case Value::Kind::kUndefined: break;
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

/// Key equality without a call: keys are short, and most comparisons are the one that hits.
[[gnu::always_inline]] inline bool same_key(const std::string& a, const std::string& b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8) {
    std::uint64_t u, v;
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&u, x + i, 8);
      std::memcpy(&v, y + i, 8);
      if (u != v) return false;
    }
    std::memcpy(&u, x + n - 8, 8);  // the last 8 bytes (overlapping is fine)
    std::memcpy(&v, y + n - 8, 8);
    return u == v;
  }
  if (n >= 4) {
    std::uint32_t u, v, w, z;
    std::memcpy(&u, x, 4);
    std::memcpy(&v, y, 4);
    std::memcpy(&w, x + n - 4, 4);
    std::memcpy(&z, y + n - 4, 4);
    return u == v && w == z;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return false;
  return true;
}

/// value[part], as JavaScript property access does for JSON values. `hint` remembers where
/// the key was found, so data of the same shape is not scanned again.
Value member(const Value& v, const std::string& part, std::atomic<std::uint32_t>* hint) {
  if (v.kind == Value::Kind::kKey && part == "length") return Value::of_number(utf16_length(*v.key));
  if (v.kind != Value::Kind::kRef) return {};
  const Data* d = v.ref;
  if (d->is_object()) {
    const auto& o = d->get_ref<const Data::object_t&>();  // a vector of (key, value)
    const auto first = o.begin();
    const std::size_t size = o.size();
    std::uint32_t h = hint ? hint->load(std::memory_order_relaxed) : 0;
    if (h < size && same_key(first[h].first, part)) return Value::of(&first[h].second);
    for (std::size_t i = 0; i < size; ++i)
      if (same_key(first[i].first, part)) {
        if (hint) hint->store(std::uint32_t(i), std::memory_order_relaxed);
        return Value::of(&first[i].second);
      }
    return {};
  }
  if (d->is_array()) {
    if (part == "length") return Value::of_number(d->size());
    std::size_t idx = 0;
    auto r = std::from_chars(part.data(), part.data() + part.size(), idx);
    if (r.ec == std::errc() && r.ptr == part.data() + part.size() && !part.empty() && (part.size() == 1 || part[0] != '0') &&
        idx < d->size())
      return Value::of(&(*d)[idx]);
    return {};
  }
  if (d->is_string() && part == "length") return Value::of_number(utf16_length(d->get_ref<const std::string&>()));
  return {};
}

[[gnu::always_inline]] inline Value walk(Value v, const Path& path, std::size_t from) {
  for (std::size_t i = from; i < path.parts.size() && v.defined(); ++i) {
    // The common case inline: an object whose key is where it was last time.
    if (v.kind == Value::Kind::kRef && v.ref->is_object()) {
      const auto& o = v.ref->get_ref<const Data::object_t&>();
      const std::uint32_t h = path.hints[i].load(std::memory_order_relaxed);
      if (h < o.size() && same_key(o.begin()[h].first, path.parts[i])) {
        v = Value::of(&o.begin()[h].second);
        continue;
      }
    }
    v = member(v, path.parts[i], &path.hints[i]);
  }
  return v;
}

/// Handlebars' `if` test: false for undefined, null, false, "", 0, NaN and [].
bool truthy(const Data* v, bool include_zero);
bool truthy(const Value& v, bool include_zero) {
  switch (v.kind) {
    case Value::Kind::kRef: return truthy(v.ref, include_zero);
    case Value::Kind::kNumber: return include_zero || v.number != 0;
    case Value::Kind::kBool: return v.flag;
    case Value::Kind::kKey: return !v.key->empty();
    case Value::Kind::kUndefined: break;
  }
  return false;
}
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
bool empty_value(const Value& v) { return !truthy(v, true); }

/// The renderer's hot path returns bool (false: error_ holds why), not Status: a Result
/// per node costs more than the work for most nodes.
class Renderer {
 public:
  Renderer(const Data& root, std::string& out, const RenderLimits& limits)
      : root_(root), out_(out), limits_(limits), start_(out.size()) {}

  /// Runs `p` in frame `f` (its context, parent and block data already set).
  bool program(const Program* p, Frame& f) {
    if (p == nullptr) return true;
    if (++depth_ > limits_.max_call_depth)
      return fail(limit("blocks and partials are active more than " + std::to_string(limits_.max_call_depth) + " deep"));
    f.program = p;
    for (const Node& n : p->nodes)
      if (!node(n, f)) return false;
    --depth_;
    return true;
  }
  /// Runs `p` with `context` in a frame of its own below `parent`.
  bool program(const Program* p, const Data* context, const Frame* parent) {
    if (p == nullptr) return true;
    Frame f;
    f.context = context;
    f.parent = parent;
    return program(p, f);
  }
  base::Error error() const { return error_ ? *error_ : base::make_error(ErrorCode::kInternal, "no error"); }

 private:
  [[gnu::noinline]] bool fail(base::Error e) {
    error_ = std::move(e);
    return false;
  }
  [[gnu::noinline]] static base::Error limit(const std::string& what) {
    return base::make_error(ErrorCode::kLimitExceeded, "Rendering stopped: " + what + ".");
  }
  [[gnu::noinline]] bool step_error() {
    if (steps_ > limits_.max_steps)
      return fail(limit("the template needs more than " + std::to_string(limits_.max_steps) + " steps"));
    return fail(limit("the output is larger than " + std::to_string(limits_.max_output_bytes) + " bytes"));
  }
  bool step() {  // false when a limit is reached
    if (++steps_ <= limits_.max_steps && out_.size() - start_ <= limits_.max_output_bytes) return true;
    return step_error();
  }
  [[gnu::noinline]] bool missing(const std::string& name) {
    return fail(base::make_error(ErrorCode::kNotFound, "Attribute '" + name + "' is not present in the rendering data.",
                                 "rendering-attribute"));
  }
  [[gnu::noinline]] bool failure(const Node& n, const std::string& what) {
    return fail(base::make_error(ErrorCode::kInvalidParameter,
                                 what + " (line " + std::to_string(n.line) + ", column " + std::to_string(n.column) + ")"));
  }
  static const std::string& name_of(const Expr& head) {
    static const std::string literal = "(literal)";
    return head.kind == Expr::Kind::kPath ? head.path.original : literal;
  }

  Value resolve(const Path& path, const Frame& f) const {
    if (path.data) {
      const std::string& name = path.parts[0];
      Value v;
      if (name == "root") {
        v = Value::of(&root_);
      } else {
        const Frame* it = &f;
        while (it && !it->iteration) it = it->parent;
        if (!it) return {};
        if (name == "index") v = Value::of_number(it->index);
        else if (name == "first") v = Value::of_bool(it->first);
        else if (name == "last") v = Value::of_bool(it->last);
        else if (name == "key" && it->key) v = Value::of_key(it->key);
        else if (name == "key") v = Value::of_number(it->index);
        else return {};
      }
      return walk(v, path, 1);
    }
    if (path.block_param) {
      for (const Frame* it = &f; it; it = it->parent) {
        if (!it->block_param_names) continue;
        const auto& names = *it->block_param_names;
        for (std::size_t i = 0; i < names.size() && i < 2; ++i)
          if (names[i] == path.parts[0]) return walk(it->block_param_values[i], path, 1);
      }
      return {};
    }
    const Frame* it = &f;
    for (int d = 0; d < path.depth; ++d) {
      const Data* here = it->context;
      while (it && it->context == here) it = it->parent;
      if (!it) return {};
    }
    return walk(Value::of(it->context), path, 0);
  }

  bool evaluate(const Expr& e, const Frame& f, Value& out) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        out = e.literal.is_discarded() ? Value() : Value::of(&e.literal);
        return true;
      case Expr::Kind::kPath: out = resolve(e.path, f); return true;
      case Expr::Kind::kCall: return call_value(*e.call, f, out);
    }
    return true;
  }

  /// A sub-expression, or a helper in output position. Helper misuse fails with
  /// kInvalidParameter (without a place: the caller adds it).
  bool call_value(const Call& c, const Frame& f, Value& out) {
    out = Value();
    switch (c.helper) {
      case Helper::kLookup: {
        if (c.params.size() != 2) return fail(base::make_error(ErrorCode::kInvalidParameter, "lookup needs two parameters"));
        Value obj, key;
        if (!evaluate(c.params[0], f, obj) || !evaluate(c.params[1], f, key)) return false;
        if (!obj.defined() || !key.defined()) return true;
        std::string k;
        if (key.is(Data::value_t::string)) k = key.ref->get<std::string>();
        else append_value(k, key);
        out = member(obj, k, nullptr);
        return true;
      }
      case Helper::kLog: return true;
      case Helper::kIf:
      case Helper::kUnless:
      case Helper::kEach:
      case Helper::kWith:
        return fail(base::make_error(ErrorCode::kInvalidParameter, "The " + c.head.path.original + " helper needs a block ({{#" +
                                                                       c.head.path.original + " …}})"));
      case Helper::kNone: break;
    }
    // An unknown helper: SES reports it as a missing attribute ("Attribute 'IF' …").
    if (!c.params.empty() || !c.hash.empty()) return missing(name_of(c.head));
    if (c.head.kind == Expr::Kind::kCall) return call_value(*c.head.call, f, out);
    return evaluate(c.head, f, out);
  }

  bool node(const Node& n, Frame& f) {
    if (!step()) return false;
    switch (n.kind) {
      case Node::Kind::kText: out_ += n.text; return true;
      case Node::Kind::kOutput: return output(n, f);
      case Node::Kind::kBlock: return block(n, f);
      case Node::Kind::kPartial: return partial(n, f);
    }
    return true;
  }

  bool output(const Node& n, const Frame& f) {
    const Call& c = n.call;
    if (c.helper == Helper::kNone && c.params.empty() && c.hash.empty() && c.head.kind == Expr::Kind::kPath) {
      // A plain substitution: strict, as SES is.
      Value v = resolve(c.head.path, f);
      if (!v.defined()) return missing(c.head.path.original);
      append_value(out_, v);
      return true;
    }
    Value v;
    if (!call_value(c, f, v)) {
      if (error_->code == ErrorCode::kInvalidParameter) return failure(n, error_->message);
      return false;
    }
    append_value(out_, v);
    return true;
  }

  bool block(const Node& n, const Frame& f) {
    const Call& c = n.call;
    Value v;
    if (c.helper == Helper::kIf || c.helper == Helper::kUnless || c.helper == Helper::kWith || c.helper == Helper::kEach) {
      if (c.params.size() != 1) return failure(n, "#" + c.head.path.original + " takes exactly one parameter");
      if (!evaluate(c.params[0], f, v)) return false;
    }
    Data storage;  // a computed value that becomes a context
    switch (c.helper) {
      case Helper::kIf:
      case Helper::kUnless: {
        bool include_zero = false;
        for (const auto& [k, e] : c.hash)
          if (k == "includeZero") {
            Value z;
            if (!evaluate(e, f, z)) return false;
            include_zero = truthy(z, false);
          }
        bool yes = truthy(v, include_zero) != (c.helper == Helper::kUnless);
        return program(yes ? n.body.get() : n.inverse.get(), f.context, &f);
      }
      case Helper::kWith: {
        if (empty_value(v)) return program(n.inverse.get(), f.context, &f);
        Frame t;
        t.context = v.data(storage);
        t.parent = &f;
        t.block_param_names = c.block_params.empty() ? nullptr : &c.block_params;
        t.block_param_values[0] = v;
        return program(n.body.get(), t);
      }
      case Helper::kEach: return each(n, v, f);
      case Helper::kLookup:
      case Helper::kLog: return failure(n, c.head.path.original + " is not a block helper");
      case Helper::kNone: break;
    }
    if (!c.params.empty() || !c.hash.empty() || c.head.kind != Expr::Kind::kPath) return missing(name_of(c.head));
    // A section ({{#x}} / {{^x}}): Handlebars' blockHelperMissing.
    v = resolve(c.head.path, f);
    if (!v.defined()) return missing(c.head.path.original);
    if (v.kind == Value::Kind::kBool || v.is(Data::value_t::boolean)) {
      bool yes = v.kind == Value::Kind::kBool ? v.flag : v.ref->get<bool>();
      return program(yes ? n.body.get() : n.inverse.get(), f.context, &f);
    }
    if (v.is(Data::value_t::null)) return program(n.inverse.get(), f.context, &f);
    if (v.is(Data::value_t::array)) {
      if (v.ref->empty()) return program(n.inverse.get(), f.context, &f);
      return each(n, v, f);
    }
    return program(n.body.get(), v.data(storage), &f);  // objects, strings, numbers become the context
  }

  bool each(const Node& n, const Value& v, const Frame& f) {
    const auto* names = n.call.block_params.empty() ? nullptr : &n.call.block_params;
    std::size_t count = 0;
    Frame t;
    t.parent = &f;
    t.iteration = true;
    t.block_param_names = names;
    if (v.is(Data::value_t::array)) {
      const std::size_t size = v.ref->size();
      for (std::size_t i = 0; i < size; ++i) {
        if (!step()) return false;
        const Data* item = &(*v.ref)[i];
        t.context = item;
        t.index = i;
        t.first = i == 0;
        t.last = i + 1 == size;
        t.block_param_values[0] = Value::of(item);
        t.block_param_values[1] = Value::of_number(i);
        if (!program(n.body.get(), t)) return false;
        ++count;
      }
    } else if (v.is(Data::value_t::object)) {
      const auto& obj = v.ref->get_ref<const Data::object_t&>();
      std::size_t i = 0;
      for (const auto& kv : obj) {
        if (!step()) return false;
        t.context = &kv.second;
        t.index = i;
        t.first = i == 0;
        t.last = i + 1 == obj.size();
        t.key = &kv.first;
        t.block_param_values[0] = Value::of(&kv.second);
        t.block_param_values[1] = Value::of_key(&kv.first);
        if (!program(n.body.get(), t)) return false;
        ++i;
        ++count;
      }
    }
    if (count == 0) return program(n.inverse.get(), f.context, &f);
    return true;
  }

  bool partial(const Node& n, const Frame& f) {
    const Program* target = nullptr;
    for (const Frame* it = &f; it && !target; it = it->parent)
      for (const auto& [name, body] : it->program->partials)
        if (name == n.text) {
          target = body;
          break;
        }
    if (!target) return failure(n, "The partial " + n.text + " could not be found");
    const Data* context = f.context;
    Data given;
    if (!n.call.params.empty()) {
      Value v;
      if (!evaluate(n.call.params[0], f, v)) return false;
      context = v.data(given);
    }
    Data extended;
    if (!n.call.hash.empty()) {
      extended = context && context->is_object() ? *context : Data::object();
      for (const auto& [k, e] : n.call.hash) {
        Value v;
        if (!evaluate(e, f, v)) return false;
        Data storage;
        const Data* d = v.data(storage);
        extended[k] = d ? *d : Data();
      }
      context = &extended;
    }
    if (n.indent.empty()) return program(target, context, &f);
    // A standalone partial: its indentation is given to every line it renders.
    std::size_t from = out_.size();
    if (!program(target, context, &f)) return false;
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
  std::optional<base::Error> error_;
};
}  // namespace

Status Template::render(const Data& data, std::string& out, const RenderLimits& limits) const {
  Renderer r(data, out, limits);
  if (!r.program(root_.get(), &data, nullptr)) return r.error();
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
