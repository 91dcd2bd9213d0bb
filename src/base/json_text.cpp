#include "base/json_text.hpp"

#include "base/encoding.hpp"

#include <cassert>
#include <charconv>

namespace sesame::base {
namespace {
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

/// Bytes copied as they are: printable ASCII except the quote and the backslash.
constexpr bool plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\t': out += "\\t"; return;
    case '\n': out += "\\n"; return;
    case '\f': out += "\\f"; return;
    case '\r': out += "\\r"; return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out.append(u, 6);
    }
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    std::size_t j = i;
    while (j < n && plain(p[j])) ++j;
    out.append(s.data() + i, j - i);
    if (j == n) break;
    const unsigned char c = p[j];
    if (c < 0x80) {
      append_escape(out, c);
      i = j + 1;
      continue;
    }
    // Like nlohmann's replace handler: an ill-formed sequence becomes one U+FFFD and the
    // byte that broke it is read again (a lead byte that cannot start one is consumed).
    std::size_t skip = 1;
    if (const std::size_t len = utf8_sequence(s, j, &skip); len != 0) {
      out.append(s.data() + j, len);
      i = j + len;
    } else {
      out += kReplacement;
      i = j + skip;
    }
  }
  out += '"';
}

void JsonWriter::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_[depth_]) out_ += ',';
  first_[depth_] = false;
}

JsonWriter& JsonWriter::open(char c) {
  separate();
  out_ += c;
  assert(depth_ < kMaxDepth);
  first_[++depth_] = true;
  return *this;
}

JsonWriter& JsonWriter::close(char c) {
  assert(depth_ > 0 && !after_key_);
  --depth_;
  out_ += c;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  separate();
  append_json_string(out_, name);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  separate();
  append_json_string(out_, s);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t n) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out_.append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  separate();
  out_ += json;
  return *this;
}

}  // namespace sesame::base
