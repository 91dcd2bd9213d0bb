// See parts.hpp.
#include "mime/parts.hpp"

#include <algorithm>
#include <optional>

#include "base/encoding.hpp"
#include "mime/encoding.hpp"

namespace sesame::mime {

std::string media_type(std::string_view ct) { return base::to_lower_ascii(base::trim(ct.substr(0, ct.find(';')))); }

std::string content_param(std::string_view ct, std::string_view name) {
  std::size_t pos = ct.find(';');
  while (pos != std::string_view::npos) {
    std::size_t next = pos + 1;
    // A quoted value may hold ';'.
    std::size_t eq = ct.find('=', next);
    if (eq == std::string_view::npos) return {};
    std::string key = base::to_lower_ascii(base::trim(ct.substr(next, eq - next)));
    std::size_t v = eq + 1;
    while (v < ct.size() && (ct[v] == ' ' || ct[v] == '\t')) ++v;
    std::string value;
    if (v < ct.size() && ct[v] == '"') {
      std::size_t end = v + 1;
      while (end < ct.size() && ct[end] != '"') {
        if (ct[end] == '\\' && end + 1 < ct.size()) ++end;
        value += ct[end++];
      }
      pos = ct.find(';', end);
    } else {
      std::size_t end = ct.find(';', v);
      value = std::string(base::trim(ct.substr(v, end == std::string_view::npos ? std::string_view::npos : end - v)));
      pos = end;
    }
    if (key == name) return value;
  }
  return {};
}

std::vector<std::string_view> parts_of(std::string_view body, std::string_view boundary, std::size_t max) {
  std::vector<std::string_view> out;
  if (boundary.empty() || boundary.size() > 200 || max == 0) return out;
  const std::string delim = "--" + std::string(boundary);
  std::size_t pos = 0;
  std::size_t start = std::string_view::npos;
  while (pos <= body.size()) {
    std::size_t eol = body.find("\r\n", pos);
    std::string_view line = body.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.substr(0, delim.size()) == delim) {
      std::string_view rest = line.substr(delim.size());
      if (start != std::string_view::npos) {
        // The CRLF before the delimiter belongs to it.
        std::size_t end = pos >= 2 ? pos - 2 : pos;
        out.push_back(body.substr(start, end > start ? end - start : 0));
        if (out.size() >= max) return out;
      }
      if (rest.substr(0, 2) == "--") return out;
      start = eol == std::string_view::npos ? body.size() : eol + 2;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 2;
  }
  // No closing delimiter: the rest is the last part (senders do get this wrong).
  if (start != std::string_view::npos && start < body.size()) out.push_back(body.substr(start));
  return out;
}

namespace {

struct Walk {
  const std::function<std::string(std::string_view)>& edit;
  const PartLimits& limits;
  std::size_t parts = 0;    // parts looked at so far, in the whole message
  std::size_t changed = 0;  // entities rewritten
};

/// A text/html entity's body decoded, edited and re-encoded (its Content-Transfer-Encoding
/// header updated in `head`); nothing when unchanged or unreadable.
std::optional<std::string> edit_html(RawMessage& head, std::string_view body, std::string_view content_type, Walk& w) {
  const std::string charset = base::to_lower_ascii(content_param(content_type, "charset"));
  // Links are found as ASCII bytes: charsets that do not keep ASCII as is are left alone.
  if (charset.starts_with("utf-16") || charset.starts_with("utf-32") || charset.starts_with("ucs-"))
    return std::nullopt;
  const std::string cte = base::to_lower_ascii(header(head, "Content-Transfer-Encoding").value_or("7bit"));
  std::string html;
  if (cte == "7bit" || cte == "8bit" || cte == "binary") {
    html = body;
  } else if (cte == "quoted-printable") {
    html = decode_quoted_printable(body);
  } else if (cte == "base64") {
    std::string packed;
    packed.reserve(body.size());
    for (char c : body)
      if (c != '\r' && c != '\n' && c != ' ' && c != '\t') packed += c;
    auto decoded = base::base64_decode(packed);
    if (!decoded) return std::nullopt;
    html = std::move(*decoded);
  } else {
    return std::nullopt;  // an encoding of its own: not ours to rewrite
  }
  std::string edited = w.edit(html);
  if (edited == html) return std::nullopt;
  ++w.changed;
  if (cte == "base64") return base64_lines(edited);
  // Quoted-printable whatever it was: the edit may have made lines too long for 7bit, and
  // SES does not keep an 8-bit encoding of a body it rewrites either.
  replace_header(head, "Content-Transfer-Encoding", "quoted-printable");
  return quoted_printable(edited);
}

/// An entity's body after the edit (its headers in `head`, updated as needed), or nothing
/// when it did not change. Bodies are read in place: only changed entities are copied.
std::optional<std::string> edit_entity(RawMessage& head, std::string_view body, std::size_t depth, Walk& w) {
  const std::string ct = header(head, "Content-Type").value_or("text/plain");
  const std::string type = media_type(ct);
  if (base::to_lower_ascii(header(head, "Content-Disposition").value_or("")).starts_with("attachment"))
    return std::nullopt;
  if (type == "text/html") return edit_html(head, body, ct, w);
  if (!type.starts_with("multipart/") || depth >= w.limits.max_depth || w.parts >= w.limits.max_parts)
    return std::nullopt;
  // The sender's own S/MIME or OpenPGP signature covers these bytes (RFC 1847): an edit
  // would break it. Encrypted content cannot be read anyway.
  if (type == "multipart/signed" || type == "multipart/encrypted") return std::nullopt;
  const auto parts = parts_of(body, content_param(ct, "boundary"), w.limits.max_parts - w.parts);
  w.parts += parts.size();
  std::string out;
  std::size_t copied = 0;  // bytes of `body` before this are in `out`
  bool changed = false;
  for (std::string_view part : parts) {
    // The part's header block (parsed) and its body (a view); a part that starts with its
    // blank line has no headers.
    const std::size_t blank = part.substr(0, 2) == "\r\n" ? 0 : part.find("\r\n\r\n");
    if (blank == std::string_view::npos) continue;  // headers only: no HTML in it
    const std::size_t body_at = blank == 0 ? 2 : blank + 4;
    RawLimits rl;
    rl.max_bytes = body_at;
    auto part_head = parse_raw(part.substr(0, body_at), rl);
    if (!part_head.ok()) continue;
    auto edited = edit_entity(part_head.value(), part.substr(body_at), depth + 1, w);
    if (!edited) continue;
    const auto at = static_cast<std::size_t>(part.data() - body.data());
    if (!changed) out.reserve(body.size() + body.size() / 4);
    out.append(body, copied, at - copied);
    part_head.value().body = std::move(*edited);
    out += serialize(part_head.value());
    copied = at + part.size();
    changed = true;
  }
  if (!changed) return std::nullopt;
  out.append(body.substr(copied));
  return out;
}

}  // namespace

std::size_t edit_html_parts(RawMessage& message, const std::function<std::string(std::string_view)>& edit,
                            const PartLimits& limits) {
  Walk w{edit, limits};
  // `message` serves as the header block; its body is read in place and replaced at the end.
  if (auto body = edit_entity(message, message.body, 0, w)) message.body = std::move(*body);
  return w.changed;
}

}  // namespace sesame::mime
