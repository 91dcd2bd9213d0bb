#include "mime/encoding.hpp"

#include "base/encoding.hpp"

namespace sesame::mime {

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

bool lines_within(std::string_view s, std::size_t max) {
  std::size_t len = 0;
  for (char c : s) {
    if (c == '\n') {
      len = 0;
      continue;
    }
    if (c != '\r' && ++len > max) return false;
  }
  return true;
}

std::string crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 40);
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t j = text.find_first_of("\r\n", i);
    if (j == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, j - i));
    out += "\r\n";
    i = j + 1;
    if (text[j] == '\r' && i < text.size() && text[i] == '\n') ++i;
  }
  return out;
}

std::string quoted_printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string in = crlf(text);
  std::string out;
  out.reserve(in.size() * 11 / 10);
  std::size_t line = 0;
  auto emit = [&](std::string_view piece) {
    if (line + piece.size() > 75) {  // soft break: "=" CRLF, keeps lines <= 76 (§6.7 rule 5)
      out += "=\r\n";
      line = 0;
    }
    out += piece;
    line += piece.size();
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n') {
      out += "\r\n";
      line = 0;
      ++i;
      continue;
    }
    bool at_line_end = i + 1 == in.size() || in[i + 1] == '\r';
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    // A leading "." is encoded so that no SMTP hop ever needs to dot-stuff our lines.
    if (c == '.' && line == 0) literal = false;
    if (literal) {
      char ch = static_cast<char>(c);
      emit(std::string_view(&ch, 1));
    } else {
      char enc[3] = {'=', kHex[c >> 4], kHex[c & 15]};
      emit(std::string_view(enc, 3));
    }
  }
  return out;
}

std::string base64_lines(std::string_view bytes) {
  std::string b64 = base::base64_encode(bytes);
  std::string out;
  out.reserve(b64.size() + b64.size() / 38 + 2);
  for (std::size_t i = 0; i < b64.size(); i += 76) {
    out.append(b64, i, 76);
    out += "\r\n";
  }
  return out;
}

std::string encode_words(std::string_view utf8, std::string_view charset) {
  if (is_ascii(utf8) && utf8.find_first_of("\r\n") == std::string_view::npos) return std::string(utf8);
  const std::string prefix = "=?" + std::string(charset) + "?B?";
  // 75 - prefix - "?=" characters of base64, i.e. a multiple of 4 -> 3/4 as many bytes.
  const std::size_t max_b64 = (75 - prefix.size() - 2) / 4 * 4;
  const std::size_t max_bytes = max_b64 / 4 * 3;
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t n = std::min(max_bytes, utf8.size() - i);
    // Back off to a UTF-8 character boundary (never split a multi-byte sequence).
    while (n > 0 && i + n < utf8.size() && (static_cast<unsigned char>(utf8[i + n]) & 0xC0) == 0x80) --n;
    if (n == 0) n = std::min(max_bytes, utf8.size() - i);
    if (!out.empty()) out += "\r\n ";
    out += prefix + base::base64_encode(utf8.substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

}  // namespace sesame::mime
