// SES v1, the AWS Query protocol: dotted form keys (Outer.Inner, List.member.N,
// Map.entry.N.key/value) decoded against the input shape; responses as XML with the
// <Op>Result wrapper that botocore locates by name (reference §1.2-1.4).
#include <cmath>
#include <cstdio>

#include "api/codec.hpp"
#include "base/clock.hpp"
#include "base/encoding.hpp"

namespace sesame::api {
namespace {
using base::ErrorCode;

base::Error invalid(std::string msg) { return base::make_error(ErrorCode::kValidation, std::move(msg)); }

bool has_prefix(const FormParams& p, const std::string& prefix) {
  auto it = p.lower_bound(prefix);
  return it != p.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

base::Result<std::optional<json>> decode_at(const Shape& s, const std::string& key, const FormParams& p,
                                            const DecodeLimits& lim, int depth) {
  if (depth > 32) return invalid("parameter nesting too deep at '" + key + "'");
  switch (s.type) {
    case ShapeType::kStructure: {
      if (!has_prefix(p, key + ".")) return std::optional<json>();
      json obj = json::object();
      for (const auto& m : s.members) {
        SESAME_ASSIGN(auto v, decode_at(*m.shape, key + "." + m.wire_name, p, lim, depth + 1));
        if (v) obj[m.name] = std::move(*v);
      }
      return std::optional<json>(std::move(obj));
    }
    case ShapeType::kList: {
      auto exact = p.find(key);
      if (exact != p.end() && exact->second.empty() && !has_prefix(p, key + "."))
        return std::optional<json>(json::array());  // "Name=" is the empty list (reference §1.2)
      if (!has_prefix(p, key + ".member.")) return std::optional<json>();
      json arr = json::array();
      for (std::size_t i = 1; i <= lim.max_list_items + 1; ++i) {
        std::string item = key + ".member." + std::to_string(i);
        if (p.find(item) == p.end() && !has_prefix(p, item + ".")) break;
        if (i > lim.max_list_items) return invalid("too many items in '" + key + "'");
        SESAME_ASSIGN(auto v, decode_at(*s.member, item, p, lim, depth + 1));
        arr.push_back(v ? std::move(*v) : json());
      }
      return std::optional<json>(std::move(arr));
    }
    case ShapeType::kMap: {
      if (!has_prefix(p, key + ".entry.")) return std::optional<json>();
      json obj = json::object();
      for (std::size_t i = 1; i <= lim.max_list_items + 1; ++i) {
        std::string e = key + ".entry." + std::to_string(i);
        auto k = p.find(e + ".key");
        if (k == p.end()) break;
        if (i > lim.max_list_items) return invalid("too many entries in '" + key + "'");
        SESAME_ASSIGN(auto v, decode_at(*s.value, e + ".value", p, lim, depth + 1));
        obj[k->second] = v ? std::move(*v) : json();
      }
      return std::optional<json>(std::move(obj));
    }
    default: {
      auto it = p.find(key);
      if (it == p.end()) return std::optional<json>();
      SESAME_ASSIGN(auto v, scalar_from_text(s, it->second, key));
      return std::optional<json>(std::move(v));
    }
  }
}

/// XML character data: escapes markup, and replaces what XML 1.0 cannot carry (invalid
/// UTF-8, control characters) with U+FFFD, so a client can always parse the document even
/// when a message echoes hostile input.
void xml_escape(std::string& out, std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    char c = s[i];
    std::size_t n = base::utf8_sequence(s, i);
    if (n == 0 || (n == 1 && static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')) {
      out += "\xEF\xBF\xBD";
      i += n == 0 ? 1 : n;
      continue;
    }
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;
      default: out.push_back(c);
    }
    ++i;
  }
}

std::string format_double(double d) {
  char buf[64];
  if (d == std::floor(d) && std::fabs(d) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.1f", d);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", d);
  }
  return buf;
}

void encode_xml_value(std::string& out, const Shape& s, const json& v);

void encode_xml_members(std::string& out, const Shape& s, const json& v) {
  if (!v.is_object()) return;
  for (const auto& m : s.members) {
    auto it = v.find(m.name);
    if (it == v.end() || it->is_null()) continue;
    out += "<" + m.wire_name + ">";
    encode_xml_value(out, *m.shape, *it);
    out += "</" + m.wire_name + ">";
  }
}

void encode_xml_value(std::string& out, const Shape& s, const json& v) {
  switch (s.type) {
    case ShapeType::kStructure:
      encode_xml_members(out, s, v);
      break;
    case ShapeType::kList:
      if (v.is_array())
        for (const auto& item : v) {
          out += "<member>";
          encode_xml_value(out, *s.member, item);
          out += "</member>";
        }
      break;
    case ShapeType::kMap:
      if (v.is_object())
        for (const auto& [k, item] : v.items()) {
          out += "<entry><key>";
          xml_escape(out, k);
          out += "</key><value>";
          encode_xml_value(out, *s.value, item);
          out += "</value></entry>";
        }
      break;
    case ShapeType::kBoolean:
      out += v.is_boolean() && v.get<bool>() ? "true" : "false";
      break;
    case ShapeType::kInteger:
    case ShapeType::kLong:
      if (v.is_number()) out += std::to_string(v.get<long long>());
      break;
    case ShapeType::kDouble:
      if (v.is_number()) out += format_double(v.get<double>());
      break;
    case ShapeType::kTimestamp:
      if (v.is_number()) out += base::format_iso8601(v.get<double>());
      else if (v.is_string()) xml_escape(out, v.get<std::string>());
      break;
    default:
      if (v.is_string()) xml_escape(out, v.get<std::string>());
      else if (!v.is_null()) xml_escape(out, v.dump());
  }
}
}  // namespace

base::Result<QueryItems> parse_query_items(std::string_view text, bool plus_is_space, const DecodeLimits& limits) {
  QueryItems out;
  while (!text.empty()) {
    std::size_t amp = text.find('&');
    std::string_view item = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (item.empty()) continue;
    if (out.size() >= limits.max_params) return invalid("too many parameters");
    std::size_t eq = item.find('=');
    auto k = base::percent_decode(item.substr(0, eq), plus_is_space);
    auto v = eq == std::string_view::npos ? std::optional<std::string>("")
                                          : base::percent_decode(item.substr(eq + 1), plus_is_space);
    if (!k || !v) return invalid("malformed percent-encoding in the request");
    // SES's documents (XML, JSON) carry text: bytes that are not UTF-8 are refused here,
    // not stored to fail later.
    for (const std::string* text : {&*k, &*v})
      for (std::size_t i = 0, n = 0; i < text->size(); i += n)
        if ((n = base::utf8_sequence(*text, i)) == 0)
          return invalid("Value for parameter " + base::percent_encode(*k) + " is not valid UTF-8");
    out.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

base::Result<FormParams> parse_form(std::string_view text, const DecodeLimits& limits) {
  SESAME_ASSIGN(auto items, parse_query_items(text, true, limits));
  FormParams out;
  for (auto& [k, v] : items) out.emplace(std::move(k), std::move(v));  // the first of repeated keys wins
  return out;
}

base::Result<json> decode_query(const Shape* input, const FormParams& params, const DecodeLimits& limits) {
  json obj = json::object();
  if (!input) return obj;
  for (const auto& m : input->members) {
    SESAME_ASSIGN(auto v, decode_at(*m.shape, m.wire_name, params, limits, 0));
    if (v) obj[m.name] = std::move(*v);
  }
  return obj;
}

std::string encode_query_response(const Model& model, const Operation& op, const json& output,
                                  const std::string& request_id) {
  std::string out;
  out.reserve(512);
  out += "<" + op.name + "Response xmlns=\"" + model.xml_namespace() + "\">";
  if (op.output) {
    std::string wrapper = op.result_wrapper.empty() ? op.name + "Result" : op.result_wrapper;
    out += "<" + wrapper + ">";
    encode_xml_members(out, *op.output, output);
    out += "</" + wrapper + ">";
  }
  out += "<ResponseMetadata><RequestId>" + request_id + "</RequestId></ResponseMetadata>";
  out += "</" + op.name + "Response>";
  return out;
}

std::string encode_query_error(const Model& model, const std::string& code, const std::string& message,
                               bool sender_fault, const std::string& request_id) {
  std::string out = "<ErrorResponse xmlns=\"" + model.xml_namespace() + "\"><Error><Type>";
  out += sender_fault ? "Sender" : "Receiver";
  out += "</Type><Code>";
  xml_escape(out, code);
  out += "</Code><Message>";
  xml_escape(out, message);
  out += "</Message></Error><RequestId>" + request_id + "</RequestId></ErrorResponse>";
  return out;
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

}  // namespace sesame::api
