// Address parsing per RFC 5322 §3.4 (obsolete forms tolerated where clients still send
// them: unquoted dots in display names).
#include "mime/address.hpp"

#include "base/encoding.hpp"
#include "mime/encoding.hpp"

namespace sesame::mime {
namespace {
using base::ErrorCode;

base::Error invalid(std::string_view what) {
  return base::make_error(ErrorCode::kInvalidParameter, "Invalid email address <" + std::string(what) + ">.");
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

/// Splits at top-level commas (outside quotes, comments, angle brackets); group syntax
/// "name: a, b;" contributes its members.
base::Result<std::vector<std::string>> split_list(std::string_view text) {
  std::vector<std::string> items;
  std::string cur;
  int comment = 0;
  bool quoted = false, angle = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      cur.push_back(c);
      if (c == '\\' && i + 1 < text.size()) cur.push_back(text[++i]);
      else if (c == '"') quoted = false;
      continue;
    }
    if (comment > 0) {
      if (c == '\\' && i + 1 < text.size()) ++i;
      else if (c == '(') ++comment;
      else if (c == ')') --comment;
      continue;  // comments are dropped
    }
    if (c == '"') quoted = true;
    else if (c == '(') {
      ++comment;
      continue;
    } else if (c == '<') angle = true;
    else if (c == '>') angle = false;
    else if (!angle && c == ':') {  // group display name: drop it, keep its members
      cur.clear();
      continue;
    } else if (!angle && (c == ',' || c == ';')) {
      if (!trim(cur).empty()) items.emplace_back(trim(cur));
      cur.clear();
      continue;
    }
    cur.push_back(c);
  }
  if (quoted || comment > 0 || angle) return invalid(text);
  if (!trim(cur).empty()) items.emplace_back(trim(cur));
  return items;
}

bool valid_label(std::string_view l) {
  if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
  for (char c : l)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}
}  // namespace

base::Status check_address(std::string_view a) {
  if (a.size() > 320 || !base::is_ascii(a)) return invalid(a);
  std::size_t at = a.rfind('@');
  if (at == std::string_view::npos) return base::make_error(ErrorCode::kInvalidParameter, "Missing final '@domain'");
  std::string_view local = a.substr(0, at), domain = a.substr(at + 1);
  if (local.empty() || local.size() > 64) return invalid(a);
  for (char c : local)
    if (static_cast<unsigned char>(c) <= 32 || c == 127 || c == '<' || c == '>' || c == ',' || c == ';' ||
        c == '(' || c == ')' || c == '[' || c == ']' || c == '\\')
      if (!(local.front() == '"' && local.back() == '"')) return invalid(a);
  if (domain.empty() || domain.size() > 253 || domain.find('.') == std::string_view::npos) return invalid(a);
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = domain.find('.', start);
    if (!valid_label(domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start)))
      return invalid(a);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return base::ok_status();
}

base::Result<Mailbox> parse_mailbox(std::string_view text) {
  std::string_view t = trim(text);
  if (t.find_first_of("\r\n") != std::string_view::npos) return invalid(t);  // header injection
  Mailbox m;
  std::size_t lt = t.rfind('<');
  if (lt != std::string_view::npos) {
    std::size_t gt = t.find('>', lt);
    if (gt == std::string_view::npos || !trim(t.substr(gt + 1)).empty()) return invalid(t);
    m.address = std::string(trim(t.substr(lt + 1, gt - lt - 1)));
    std::string_view name = trim(t.substr(0, lt));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      std::string unq;
      for (std::size_t i = 1; i + 1 < name.size(); ++i) {
        if (name[i] == '\\' && i + 2 < name.size()) ++i;
        unq.push_back(name[i]);
      }
      m.display_name = unq;
    } else {
      m.display_name = std::string(name);
    }
  } else {
    m.address = std::string(t);
  }
  SESAME_CHECK(check_address(m.address));
  return m;
}

base::Result<std::vector<Mailbox>> parse_address_list(std::string_view text, std::size_t max_items) {
  SESAME_ASSIGN(auto items, split_list(text));
  if (items.size() > max_items) return base::make_error(ErrorCode::kInvalidParameter, "Too many addresses.");
  std::vector<Mailbox> out;
  for (const auto& item : items) {
    SESAME_ASSIGN(auto m, parse_mailbox(item));
    out.push_back(std::move(m));
  }
  return out;
}

std::string format_mailbox(const Mailbox& m) {
  if (m.display_name.empty()) return m.address;
  std::string name;
  if (!base::is_ascii(m.display_name)) {
    name = encode_words(m.display_name);
  } else if (m.display_name.rfind("=?", 0) == 0 ||
             m.display_name.find_first_of("()<>[]:;@\\,.\"") == std::string::npos) {
    name = m.display_name;  // already encoded words, or only atext and spaces
  } else {
    name = "\"";
    for (char c : m.display_name) {
      if (c == '"' || c == '\\') name.push_back('\\');
      name.push_back(c);
    }
    name += "\"";
  }
  return name + " <" + m.address + ">";
}

}  // namespace sesame::mime
