#include "mime/encoding.hpp"

#include <algorithm>
#include <cstring>

#include "base/encoding.hpp"

namespace sesame::mime {

bool lines_within(std::string_view s, std::size_t max) {
  // Line ends by memchr; a CR does not count toward the length, so only a line longer
  // than `max` with CRs in it is counted byte by byte.
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p < end) {
    const char* lf = static_cast<const char*>(std::memchr(p, '\n', std::size_t(end - p)));
    const char* stop = lf ? lf : end;
    const std::size_t len = std::size_t(stop - p);
    if (len > max && len - std::size_t(std::count(p, stop, '\r')) > max) return false;
    if (!lf) break;
    p = lf + 1;
  }
  return true;
}

std::string crlf(std::string_view text) {
  // memchr for each of CR and LF, re-searched only once passed: messages are long runs of
  // plain characters, and this runs on every send.
  std::string out;
  out.reserve(text.size() + text.size() / 40 + 2);
  const char* p = text.data();
  const char* const end = p + text.size();
  auto next = [end](const char* from, char c) {
    const void* hit = from < end ? std::memchr(from, c, std::size_t(end - from)) : nullptr;
    return hit ? static_cast<const char*>(hit) : end;
  };
  const char* cr = next(p, '\r');
  const char* lf = next(p, '\n');
  while (p < end) {
    const char* j = std::min(cr, lf);
    out.append(p, std::size_t(j - p));
    if (j == end) break;
    out += "\r\n";
    p = j + 1;
    if (*j == '\r' && p < end && *p == '\n') ++p;
    if (cr < p) cr = next(p, '\r');
    if (lf < p) lf = next(p, '\n');
  }
  return out;
}

std::string quoted_printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const std::string in = crlf(text);
  // Written through a pointer: before each block of input, the buffer grows to hold that
  // block's worst case (every byte as "=XX", and a soft break "=" CRLF after at least 73
  // characters of a line), so a large message never needs its whole worst case at once.
  constexpr std::size_t kBlock = 4096;
  std::string out;
  std::size_t used = 0;
  std::size_t line = 0;
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const std::size_t block_end = std::min(n, i + kBlock);
    // +16: a CRLF may end one byte past the block.
    const std::size_t need = used + (block_end - i) * 3 + (block_end - i) / 8 + 16;
    if (out.size() < need) out.resize(std::max(need, std::min(out.size() * 2, need + n)));
    char* const base = out.data();
    char* o = base + used;
    while (i < block_end) {
      const unsigned char c = static_cast<unsigned char>(in[i]);
      if (c == '\r' && i + 1 < n && in[i + 1] == '\n') {
        *o++ = '\r';
        *o++ = '\n';
        line = 0;
        i += 2;
        continue;
      }
      const bool at_line_end = i + 1 == n || in[i + 1] == '\r';
      bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
      // A leading "." is encoded so that no SMTP hop ever needs to dot-stuff our lines.
      if (c == '.' && line == 0) literal = false;
      const std::size_t width = literal ? 1 : 3;
      if (line + width > 75) {  // soft break: "=" CRLF, keeps lines <= 76 (§6.7 rule 5)
        *o++ = '=';
        *o++ = '\r';
        *o++ = '\n';
        line = 0;
      }
      if (literal) {
        *o++ = static_cast<char>(c);
      } else {
        *o++ = '=';
        *o++ = kHex[c >> 4];
        *o++ = kHex[c & 15];
      }
      line += width;
      ++i;
    }
    used = std::size_t(o - base);
  }
  out.resize(used);
  return out;
}

std::string decode_quoted_printable(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const std::size_t eq = text.find('=', i);
    if (eq == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, eq - i));
    i = eq + 1;
    if (i + 2 <= n && hex(text[i]) >= 0 && hex(text[i + 1]) >= 0) {
      out += static_cast<char>(hex(text[i]) * 16 + hex(text[i + 1]));
      i += 2;
      continue;
    }
    std::size_t j = i;  // a soft line break: "=", optional whitespace, then CRLF or LF
    while (j < n && (text[j] == ' ' || text[j] == '\t')) ++j;
    if (j < n && text[j] == '\r' && j + 1 < n && text[j + 1] == '\n') {
      i = j + 2;
    } else if (j < n && text[j] == '\n') {
      i = j + 1;
    } else if (j == n) {
      i = n;  // "=" at the very end: a soft break with nothing after it
    } else {
      out += '=';
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
  if (base::is_ascii(utf8) && utf8.find_first_of("\r\n") == std::string_view::npos) return std::string(utf8);
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
