// SES v2, REST-JSON: routes from each operation's requestUri and method, URI labels
// percent-decoded after routing on the raw path, query-string members, a JSON body;
// output as JSON with timestamps as epoch seconds (JS v3 rejects ISO strings, §1.5).
#include <cmath>

#include "api/codec.hpp"
#include "api/json_fast.hpp"
#include "base/clock.hpp"
#include "base/encoding.hpp"

namespace sesame::api {
namespace {
using base::ErrorCode;

base::Error bad(std::string msg) { return base::make_error(ErrorCode::kValidation, std::move(msg)); }

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return out;
}

/// Coerces a JSON body value to the shape, converting timestamps to epoch seconds.
/// Timestamps outside year 1970..9999 are refused at the edge, so nothing downstream ever
/// formats an unrepresentable time.
constexpr double kMaxTimestamp = 253402300799.0;
bool valid_time(double t) { return t >= 0 && t <= kMaxTimestamp; }

// Takes the decoded body by reference and moves strings out of it (a message body is the
// largest value of a request): the body is not used after decoding.
base::Result<json> coerce(const Shape& s, json& v, const std::string& path, int depth, const DecodeLimits& lim) {
  if (depth > 32) return bad("value nesting too deep at '" + path + "'");
  auto type_error = [&](const char* want) {
    return bad("Value at '" + path + "' must be " + want);
  };
  switch (s.type) {
    case ShapeType::kStructure: {
      if (!v.is_object()) return type_error("an object");
      json out = json::object();
      for (const auto& m : s.members) {
        auto it = v.find(m.wire_name);
        if (it == v.end() || it->is_null()) continue;
        SESAME_ASSIGN(auto c, coerce(*m.shape, *it, path.empty() ? m.name : path + "." + m.name, depth + 1, lim));
        out[m.name] = std::move(c);
      }
      return out;
    }
    case ShapeType::kList: {
      if (!v.is_array()) return type_error("a list");
      if (v.size() > lim.max_list_items) return bad("Too many items at '" + path + "'");
      json out = json::array();
      for (std::size_t i = 0; i < v.size(); ++i) {
        SESAME_ASSIGN(auto c, coerce(*s.member, v[i], path + "." + std::to_string(i + 1), depth + 1, lim));
        out.push_back(std::move(c));
      }
      return out;
    }
    case ShapeType::kMap: {
      if (!v.is_object()) return type_error("a map");
      if (v.size() > lim.max_list_items) return bad("Too many entries at '" + path + "'");
      json out = json::object();
      for (auto item = v.begin(); item != v.end(); ++item) {
        SESAME_ASSIGN(auto c, coerce(*s.value, *item, path + "." + item.key(), depth + 1, lim));
        out[item.key()] = std::move(c);
      }
      return out;
    }
    case ShapeType::kString:
    case ShapeType::kBlob:
      if (!v.is_string()) return type_error("a string");
      if (s.type == ShapeType::kBlob && !base::base64_decode(v.get_ref<const std::string&>()))
        return bad("Value at '" + path + "' is not valid base64");
      return std::move(v);
    case ShapeType::kBoolean:
      if (!v.is_boolean()) return type_error("a boolean");
      return v;
    case ShapeType::kInteger:
    case ShapeType::kLong:
      if (!v.is_number_integer()) return type_error("an integer");
      if (s.type == ShapeType::kInteger && (v.get<long long>() > INT32_MAX || v.get<long long>() < INT32_MIN))
        return bad("Value at '" + path + "' is out of range");
      return v;
    case ShapeType::kDouble:
      if (!v.is_number()) return type_error("a number");
      return v;
    case ShapeType::kTimestamp:
      if (v.is_number() && valid_time(v.get<double>())) return json(v.get<double>());
      if (v.is_string()) {
        if (auto t = base::parse_iso8601(v.get<std::string>())) return json(*t);
      }
      return type_error("a timestamp between 1970 and 9999");
  }
  return type_error("valid");
}

std::size_t json_depth(std::string_view body) {
  std::size_t depth = 0, max = 0;
  bool in_string = false, escape = false;
  for (char c : body) {
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') max = std::max(max, ++depth);
    else if ((c == '}' || c == ']') && depth > 0) --depth;
  }
  return max;
}

json encode_json_value(const Shape& s, const json& v) {
  switch (s.type) {
    case ShapeType::kStructure: {
      json out = json::object();
      if (!v.is_object()) return out;
      for (const auto& m : s.members) {
        auto it = v.find(m.name);
        if (it == v.end() || it->is_null()) continue;
        out[m.wire_name] = encode_json_value(*m.shape, *it);
      }
      return out;
    }
    case ShapeType::kList: {
      json out = json::array();
      if (v.is_array())
        for (const auto& item : v) out.push_back(encode_json_value(*s.member, item));
      return out;
    }
    case ShapeType::kMap: {
      json out = json::object();
      if (v.is_object())
        for (const auto& [k, item] : v.items()) out[k] = encode_json_value(*s.value, item);
      return out;
    }
    case ShapeType::kTimestamp:
      if (v.is_string()) {
        if (auto t = base::parse_iso8601(v.get<std::string>())) return json(*t);
      }
      return v;
    default:
      return v;
  }
}
}  // namespace

base::Result<json> scalar_from_text(const Shape& s, const std::string& text, const std::string& name) {
  switch (s.type) {
    case ShapeType::kInteger:
    case ShapeType::kLong: {
      char* end = nullptr;
      errno = 0;
      long long n = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end || errno == ERANGE) return bad("Value '" + text + "' at '" + name + "' is not a valid integer");
      if (s.type == ShapeType::kInteger && (n > INT32_MAX || n < INT32_MIN))
        return bad("Value '" + text + "' at '" + name + "' is out of range");
      return json(n);
    }
    case ShapeType::kDouble: {
      char* end = nullptr;
      double d = std::strtod(text.c_str(), &end);
      if (text.empty() || *end || !std::isfinite(d)) return bad("Value '" + text + "' at '" + name + "' is not a valid number");
      return json(d);
    }
    case ShapeType::kBoolean:
      if (text == "true") return json(true);
      if (text == "false") return json(false);
      return bad("Value '" + text + "' at '" + name + "' is not a valid boolean");
    case ShapeType::kTimestamp: {
      if (auto t = base::parse_iso8601(text)) return json(*t);
      char* end = nullptr;
      double d = std::strtod(text.c_str(), &end);
      if (!text.empty() && !*end && std::isfinite(d) && valid_time(d)) return json(d);
      return bad("Value '" + text + "' at '" + name + "' is not a valid timestamp");
    }
    case ShapeType::kString:
    case ShapeType::kBlob:
      return json(text);
    default:
      return bad("unexpected value at '" + name + "'");
  }
}

RestJsonRouter::RestJsonRouter(const Model& model) {
  for (const auto& op : model.operations()) {
    Route r{&op, {}, 0};
    auto [path, query] = split_target(op.request_uri);
    for (auto seg : split_path(path)) {
      Segment s;
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        std::string_view inner = seg.substr(1, seg.size() - 2);
        if (!inner.empty() && inner.back() == '+') {
          s.greedy = true;
          inner.remove_suffix(1);
        }
        s.label = std::string(inner);
      } else {
        s.literal = std::string(seg);
        ++r.literals;
      }
      r.segments.push_back(std::move(s));
    }
    routes_.push_back(std::move(r));
  }
}

std::optional<RestJsonRouter::Match> RestJsonRouter::match(std::string_view method, std::string_view raw_path,
                                                           bool* path_exists) const {
  auto segs = split_path(raw_path);
  const Route* best = nullptr;
  std::vector<std::pair<std::string, std::string>> best_labels;
  if (path_exists) *path_exists = false;
  for (const auto& r : routes_) {
    std::vector<std::pair<std::string, std::string>> labels;
    bool ok = true;
    std::size_t i = 0;
    for (std::size_t k = 0; k < r.segments.size() && ok; ++k) {
      const Segment& s = r.segments[k];
      if (i >= segs.size()) {
        ok = false;
        break;
      }
      if (!s.literal.empty()) {
        ok = segs[i] == s.literal;
        ++i;
      } else if (s.greedy) {
        std::string joined;
        for (; i < segs.size(); ++i) joined += (joined.empty() ? "" : "/") + std::string(segs[i]);
        auto d = base::percent_decode(joined, false);
        ok = d.has_value();
        if (ok) labels.emplace_back(s.label, *d);
      } else {
        auto d = base::percent_decode(segs[i], false);
        ok = d.has_value() && !d->empty();
        if (ok) labels.emplace_back(s.label, *d);
        ++i;
      }
    }
    if (!ok || i != segs.size()) continue;
    if (path_exists) *path_exists = true;
    if (r.op->method != method) continue;
    if (!best || r.literals > best->literals) {
      best = &r;
      best_labels = std::move(labels);
    }
  }
  if (!best) return std::nullopt;
  return Match{best->op, std::move(best_labels)};
}

base::Result<json> decode_rest_json(const Operation& op, const RestJsonRouter::Match& match,
                                    std::string_view raw_query, const base::HttpRequest& request,
                                    const DecodeLimits& limits) {
  json value = json::object();
  if (!op.input) return value;
  const Shape& in = *op.input;

  json body = json::object();
  std::string_view text = base::trim(request.body);
  if (!text.empty()) {
    if (auto fast = parse_json_fast(text, limits.max_json_depth)) {
      body = std::move(*fast);
    } else {  // invalid, too deep, or beyond the fast path: nlohmann decides (and words the error)
      if (json_depth(text) > limits.max_json_depth) return bad("The request body is nested too deeply.");
      body = json::parse(text, nullptr, false);
    }
    if (body.is_discarded() || !body.is_object()) return bad("The request body is not a valid JSON object.");
  }

  SESAME_ASSIGN(auto query, parse_query_items(raw_query, false, limits));

  for (const auto& m : in.members) {
    if (m.location == "uri") {
      for (const auto& [label, v] : match.labels)
        if (label == m.wire_name) {
          SESAME_ASSIGN(auto c, scalar_from_text(*m.shape, v, m.name));
          value[m.name] = std::move(c);
        }
    } else if (m.location == "querystring") {
      if (m.shape->type == ShapeType::kList) {
        json arr = json::array();
        for (const auto& [k, v] : query)
          if (k == m.wire_name) {
            SESAME_ASSIGN(auto c, scalar_from_text(*m.shape->member, v, m.name));
            arr.push_back(std::move(c));
          }
        if (!arr.empty()) value[m.name] = std::move(arr);
      } else if (m.shape->type == ShapeType::kMap) {
        json obj = json::object();
        for (const auto& [k, v] : query) obj[k] = v;
        if (!obj.empty()) value[m.name] = std::move(obj);
      } else {
        for (const auto& [k, v] : query)
          if (k == m.wire_name) {
            SESAME_ASSIGN(auto c, scalar_from_text(*m.shape, v, m.name));
            value[m.name] = std::move(c);
            break;
          }
      }
    } else if (m.location == "header") {
      std::string_view h = request.header(m.wire_name);
      if (!h.empty()) {
        SESAME_ASSIGN(auto c, scalar_from_text(*m.shape, std::string(h), m.name));
        value[m.name] = std::move(c);
      }
    } else {
      auto it = body.find(m.wire_name);
      if (it == body.end() || it->is_null()) continue;
      SESAME_ASSIGN(auto c, coerce(*m.shape, *it, m.name, 0, limits));
      value[m.name] = std::move(c);
    }
  }
  return value;
}

std::string encode_json_output(const Shape* output, const json& value) {
  if (!output) return "{}";
  return encode_json_value(*output, value).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace sesame::api
