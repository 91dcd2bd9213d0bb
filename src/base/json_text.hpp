// Writing JSON text straight into a string, for the few documents built on every message
// (the event `mail` object, the delivery metadata): no nlohmann tree, no per-node
// allocation. The bytes are those nlohmann's dump() writes with error_handler_t::replace
// (compact, `\uXXXX` only for control characters, UTF-8 kept as is), so the two can be mixed
// and compared. Strings need not be valid UTF-8: mail headers and remote SMTP replies are
// untrusted bytes, and every ill-formed sequence becomes U+FFFD, as nlohmann replaces it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sesame::base {

/// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);

/// A JSON writer for one document: objects and arrays nest, commas come by themselves.
/// The caller writes keys in the order wanted (nlohmann's own objects are sorted by key).
/// Nesting deeper than kMaxDepth is a programming error (asserted), not input-driven.
class JsonWriter {
 public:
  static constexpr int kMaxDepth = 32;
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  /// An object member's name; the value written next belongs to it.
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(std::int64_t n);
  /// Already-serialized JSON (trusted: made by this writer or by nlohmann).
  JsonWriter& raw(std::string_view json);

 private:
  JsonWriter& open(char c);
  JsonWriter& close(char c);
  void separate();

  std::string& out_;
  int depth_ = 0;
  bool first_[kMaxDepth + 1] = {true};
  bool after_key_ = false;
};

}  // namespace sesame::base
