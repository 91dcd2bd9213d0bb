#include "api/json_fast.hpp"

#include "base/encoding.hpp"

#include <cstdint>
#include <cstring>
#include <string>

namespace sesame::api {
namespace {

using json = nlohmann::json;

class Parser {
 public:
  Parser(std::string_view text, std::size_t max_depth)
      : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth) {}

  std::optional<json> run() {
    json v;
    if (!value(v, 0)) return std::nullopt;
    skip_ws();
    if (p_ != end_) return std::nullopt;  // trailing content
    return v;
  }

 private:
  void skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool literal(const char* word, std::size_t n) {
    if (std::size_t(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }

  bool value(json& out, std::size_t depth) {
    skip_ws();
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case '"': {
        std::string s;
        if (!string(s)) return false;
        out = std::move(s);
        return true;
      }
      case 't': return literal("true", 4) && (out = true, true);
      case 'f': return literal("false", 5) && (out = false, true);
      case 'n': return literal("null", 4) && (out = nullptr, true);
      default: return number(out);
    }
  }

  bool object(json& out, std::size_t depth) {
    if (depth > max_depth_) return false;
    ++p_;  // '{'
    out = json::object();
    skip_ws();
    if (p_ < end_ && *p_ == '}') return ++p_, true;
    for (;;) {
      skip_ws();
      if (p_ == end_ || *p_ != '"') return false;
      std::string key;
      if (!string(key)) return false;
      skip_ws();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      json v;
      if (!value(v, depth)) return false;
      out[std::move(key)] = std::move(v);  // a repeated key: the last one wins, as in nlohmann
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ == '}') return ++p_, true;
      return false;
    }
  }

  bool array(json& out, std::size_t depth) {
    if (depth > max_depth_) return false;
    ++p_;  // '['
    out = json::array();
    skip_ws();
    if (p_ < end_ && *p_ == ']') return ++p_, true;
    for (;;) {
      json v;
      if (!value(v, depth)) return false;
      out.push_back(std::move(v));
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ == ']') return ++p_, true;
      return false;
    }
  }

  /// Integers of up to 18 digits: unsigned when not negative, signed when negative, as
  /// nlohmann types them. Fractions, exponents and longer numbers are left to nlohmann.
  bool number(json& out) {
    const char* q = p_;
    const bool negative = q < end_ && *q == '-';
    if (negative) ++q;
    const char* digits = q;
    while (q < end_ && *q >= '0' && *q <= '9') ++q;
    const std::size_t n = std::size_t(q - digits);
    if (n == 0 || n > 18 || (n > 1 && *digits == '0')) return false;
    if (q < end_ && (*q == '.' || *q == 'e' || *q == 'E')) return false;
    std::uint64_t v = 0;
    for (const char* d = digits; d < q; ++d) v = v * 10 + std::uint64_t(*d - '0');
    if (negative) out = -static_cast<std::int64_t>(v);
    else out = v;
    p_ = q;
    return true;
  }

  static bool hex4(const char* h, unsigned& cp) {
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = h[i];
      cp <<= 4;
      if (c >= '0' && c <= '9') cp |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') cp |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') cp |= unsigned(c - 'A' + 10);
      else return false;
    }
    return true;
  }

  bool string(std::string& out) {
    ++p_;  // opening quote
    for (;;) {
      // The run of characters that need nothing: copied in one append.
      const char* run = p_;
      while (p_ < end_) {
        const unsigned char c = static_cast<unsigned char>(*p_);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++p_;
      }
      out.append(run, std::size_t(p_ - run));
      if (p_ == end_) return false;
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') return ++p_, true;
      if (c < 0x20) return false;  // control characters must be escaped
      if (c >= 0x80) {
        const std::size_t n = base::utf8_sequence(std::string_view(p_, std::size_t(end_ - p_)), 0);
        if (n == 0) return false;
        out.append(p_, n);
        p_ += n;
        continue;
      }
      // A backslash escape.
      if (end_ - p_ < 2) return false;
      const char e = p_[1];
      p_ += 2;
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          unsigned cp = 0;
          if (end_ - p_ < 4 || !hex4(p_, cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // surrogates: nlohmann's rules apply
          p_ += 4;
          if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default: return false;
      }
    }
  }

  const char* p_;
  const char* const end_;
  const std::size_t max_depth_;
};

}  // namespace

std::optional<nlohmann::json> parse_json_fast(std::string_view text, std::size_t max_depth) {
  return Parser(text, max_depth).run();
}

}  // namespace sesame::api
