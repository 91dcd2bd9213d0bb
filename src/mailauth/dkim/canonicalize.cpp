// RFC 6376 §3.4 canonicalization; the "why" of each step is in the RFC section named.
#include "mailauth/dkim/canonicalize.hpp"

#include <cstring>

namespace sesame::mailauth::dkim {
namespace {
bool wsp(char c) { return c == ' ' || c == '\t'; }

/// Lines of `text` without their CRLF (or bare LF); a final line without a line end is
/// included as a line.
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t lf = text.find('\n', start);
    if (lf == std::string_view::npos) {
      out.push_back(text.substr(start));
      break;
    }
    std::size_t end = (lf > start && text[lf - 1] == '\r') ? lf - 1 : lf;
    out.push_back(text.substr(start, end - start));
    start = lf + 1;
  }
  return out;
}
}  // namespace

void split_message(std::string_view message, std::vector<HeaderField>& headers, std::string_view& body) {
  headers.clear();
  body = {};
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t lf = message.find('\n', pos);
    std::size_t line_end = lf == std::string_view::npos ? message.size() : lf;
    std::size_t content_end = (line_end > pos && message[line_end - 1] == '\r') ? line_end - 1 : line_end;
    std::string_view line = message.substr(pos, content_end - pos);
    std::size_t next = lf == std::string_view::npos ? message.size() : lf + 1;
    if (line.empty()) {  // the blank line: body follows
      body = message.substr(next);
      return;
    }
    if (wsp(line.front()) && !headers.empty()) {
      headers.back().raw_value += "\r\n";  // folding is kept; canonicalization decides
      headers.back().raw_value += line;
    } else {
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) headers.push_back({std::string(), std::string(line)});
      else headers.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
    }
    pos = next;
  }
}

std::string relaxed_header(std::string_view name, std::string_view raw_value) {
  std::string out;
  out.reserve(name.size() + raw_value.size() + 3);
  for (char c : name) {
    if (wsp(c)) continue;  // "delete any WSP characters remaining before ... the colon"
    out.push_back((c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c);
  }
  out.push_back(':');
  bool pending_space = false;
  bool started = false;
  for (char c : raw_value) {
    if (c == '\r' || c == '\n') continue;  // unfold
    if (wsp(c)) {
      pending_space = started;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    started = true;
    out.push_back(c);
  }
  out += "\r\n";
  return out;
}

std::string relaxed_body(std::string_view body) {
  // One pass into one string (messages are signed on the accept path): WSP runs become one
  // SP, trailing WSP goes, and empty lines at the end are cut off (RFC 6376 §3.4.4). Runs
  // without WSP are appended whole; the output is at most the input plus bare-LF growth.
  std::string out;
  out.reserve(body.size() + 2);
  std::size_t keep = 0;  // out's length through the last non-empty line and its CRLF
  const char* p = body.data();
  const char* const end = p + body.size();
  while (p < end) {
    const char* lf = static_cast<const char*>(std::memchr(p, '\n', std::size_t(end - p)));
    const char* line_end = lf ? lf : end;
    if (lf && line_end > p && line_end[-1] == '\r') --line_end;
    const std::size_t start = out.size();
    const char* q = p;
    while (q < line_end) {
      const char* run = q;
      while (q < line_end && !wsp(*q)) ++q;
      out.append(run, std::size_t(q - run));
      const char* spaces = q;
      while (q < line_end && wsp(*q)) ++q;
      if (q > spaces && q < line_end) out.push_back(' ');  // inner WSP run: one SP; trailing: none
    }
    const bool empty = out.size() == start;
    out += "\r\n";
    if (!empty) keep = out.size();
    p = lf ? lf + 1 : end;
  }
  out.resize(keep);
  return out;
}

std::string simple_body(std::string_view body) {
  std::vector<std::string_view> lines = lines_of(body);
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return "\r\n";
  std::string out;
  for (auto l : lines) {
    out.append(l);
    out += "\r\n";
  }
  return out;
}

}  // namespace sesame::mailauth::dkim
