#include "smtp/reply.hpp"

#include <cctype>
#include <charconv>

namespace sesame::smtp {

std::string Reply::text() const {
  std::string out = std::to_string(code);
  for (const auto& l : lines) {
    out += ' ';
    out += l;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

namespace {
bool is_enhanced(std::string_view s, std::string& out) {
  // class "." subject "." detail: [245].\d{1,3}.\d{1,3}
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  std::size_t i = 2, digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && digits < 3) ++i, ++digits;
  if (digits == 0 || i >= s.size() || s[i] != '.') return false;
  ++i;
  digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && digits < 3) ++i, ++digits;
  if (digits == 0 || (i < s.size() && s[i] != ' ')) return false;
  out.assign(s.substr(0, i));
  return true;
}
}  // namespace

Parse parse_reply(std::string_view buf, Reply& out, std::size_t& consumed, std::string& error, const ReplyLimits& limits) {
  out = Reply{};
  std::size_t pos = 0;
  for (;;) {
    std::size_t eol = buf.find('\n', pos);
    if (eol == std::string_view::npos) {
      if (buf.size() - pos > limits.max_line) {
        error = "reply line longer than " + std::to_string(limits.max_line) + " bytes";
        return Parse::kBad;
      }
      return Parse::kIncomplete;
    }
    std::string_view line = buf.substr(pos, eol - pos);
    if (line.size() > limits.max_line) {
      error = "reply line longer than " + std::to_string(limits.max_line) + " bytes";
      return Parse::kBad;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    int code = 0;
    if (line.size() < 3 || std::from_chars(line.data(), line.data() + 3, code).ptr != line.data() + 3 || code < 200 ||
        code > 599) {
      error = "malformed reply line";
      return Parse::kBad;
    }
    if (out.code != 0 && code != out.code) {
      error = "reply code changed within a multi-line reply";
      return Parse::kBad;
    }
    out.code = code;
    char sep = line.size() > 3 ? line[3] : ' ';
    if (sep != ' ' && sep != '-') {
      error = "malformed reply line";
      return Parse::kBad;
    }
    std::string text(line.size() > 4 ? line.substr(4) : std::string_view());
    for (char& c : text)
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') c = ' ';  // keep control bytes out of events and logs
    out.lines.push_back(std::move(text));
    if (out.lines.size() > limits.max_lines) {
      error = "reply longer than " + std::to_string(limits.max_lines) + " lines";
      return Parse::kBad;
    }
    pos = eol + 1;
    if (sep == ' ') break;
  }
  consumed = pos;
  if (!out.lines.empty() && is_enhanced(out.lines.front(), out.enhanced) && out.enhanced[0] != char('0' + out.code / 100))
    out.enhanced.clear();  // a class that contradicts the code is not trusted
  return Parse::kDone;
}

Capabilities parse_ehlo(const Reply& reply) {
  Capabilities caps;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {  // the first line is the greeting
    std::string line = reply.lines[i];
    std::string key, arg;
    auto sp = line.find(' ');
    key = line.substr(0, sp);
    if (sp != std::string::npos) arg = line.substr(sp + 1);
    for (char& c : key) c = char(std::toupper(static_cast<unsigned char>(c)));
    if (key == "STARTTLS") caps.starttls = true;
    else if (key == "PIPELINING") caps.pipelining = true;
    else if (key == "8BITMIME") caps.eightbitmime = true;
    else if (key == "SMTPUTF8") caps.smtputf8 = true;
    else if (key == "ENHANCEDSTATUSCODES") caps.enhanced = true;
    else if (key == "SIZE") {
      std::size_t n = 0;
      auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), n);
      if (ec == std::errc()) caps.size = n;
    }
  }
  return caps;
}

}  // namespace sesame::smtp
