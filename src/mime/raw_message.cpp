// Raw message handling for SendRawEmail/SMTP; see raw_message.hpp and reference §4.4.
#include "mime/raw_message.hpp"

#include "base/encoding.hpp"
#include "mime/encoding.hpp"

namespace sesame::mime {
namespace {
using base::ErrorCode;

base::Error bad(std::string msg) { return base::make_error(ErrorCode::kInvalidParameter, std::move(msg)); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && base::to_lower_ascii(a) == base::to_lower_ascii(b);
}

std::string unfold(std::string_view raw) {
  std::string out;
  for (char c : raw)
    if (c != '\r' && c != '\n') out.push_back(c);
  return std::string(base::trim(out));
}

const char* const kSingle[] = {
    "Accept-Language", "acceptLanguage", "Archived-At", "Auto-Submitted", "Bounces-to", "Comments",
    "Content-Alternative", "Content-Base", "Content-Class", "Content-Description", "Content-Disposition",
    "Content-Duration", "Content-ID", "Content-Language", "Content-Length", "Content-Location", "Content-MD5",
    "Content-Transfer-Encoding", "Content-Type", "Date", "Delivered-To", "Disposition-Notification-Options",
    "Disposition-Notification-To", "DKIM-Signature", "DomainKey-Signature", "Errors-To", "From", "Importance",
    "In-Reply-To", "Keywords", "List-Archive", "List-Help", "List-Id", "List-Owner", "List-Post", "List-Subscribe",
    "List-Unsubscribe", "Message-Context", "Message-ID", "MIME-Version", "Organization", "Original-From",
    "Original-Message-ID", "Original-Recipient", "Original-Subject", "Precedence", "Priority", "References",
    "Reply-To", "Return-Path", "Return-Receipt-To", "Sender", "Solicitation", "Sensitivity", "Subject",
    "Thread-Index", "Thread-Topic", "User-Agent", "VBR-Info"};

bool tag_chars(std::string_view s, bool value) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (value && (c == '.' || c == '@'));
    if (!ok) return false;
  }
  return true;
}
}  // namespace

base::Result<RawMessage> parse_raw(std::string_view message, const RawLimits& limits) {
  if (message.size() > limits.max_bytes) return bad("Message length is more than " + std::to_string(limits.max_bytes) + " bytes");
  if (message.find('\0') != std::string_view::npos) return bad("Message contains NUL bytes.");
  std::string text = crlf(message);
  if (!lines_within(text, limits.max_line)) return bad("Message has a line longer than 1000 characters.");
  RawMessage m;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find("\r\n", pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    std::size_t next = eol == text.size() ? eol : eol + 2;
    if (line.empty()) {
      m.body = text.substr(next);
      return m;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (m.headers.empty()) return bad("Message starts with a continuation line.");
      m.headers.back().value += "\r\n";
      m.headers.back().value += line;
    } else {
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) return bad("Invalid header line: no field name and colon.");
      std::string_view name = line.substr(0, colon);
      for (char c : name)
        if (static_cast<unsigned char>(c) <= 32 || static_cast<unsigned char>(c) >= 127)
          return bad("Invalid header name.");
      if (m.headers.size() >= limits.max_headers) return bad("Too many header fields.");
      m.headers.push_back({std::string(name), std::string(line.substr(colon + 1))});
    }
    pos = next;
  }
  return m;  // headers only, no body
}

std::string serialize(const RawMessage& m) {
  std::string out;
  out.reserve(m.body.size() + 64 * m.headers.size());
  for (const auto& h : m.headers) out += h.name + ":" + h.value + "\r\n";
  out += "\r\n";
  out += m.body;
  return out;
}

std::optional<std::string> header(const RawMessage& m, std::string_view name) {
  for (const auto& h : m.headers)
    if (iequals(h.name, name)) return unfold(h.value);
  return std::nullopt;
}

void remove_header(RawMessage& m, std::string_view name) {
  std::erase_if(m.headers, [&](const HeaderLine& h) { return iequals(h.name, name); });
}

void replace_header(RawMessage& m, const std::string& name, const std::string& value) {
  remove_header(m, name);
  m.headers.insert(m.headers.begin(), HeaderLine{name, " " + value});
}

base::Status check_single_headers(const RawMessage& m) {
  for (const char* name : kSingle) {
    int count = 0;
    for (const auto& h : m.headers) count += iequals(h.name, name) ? 1 : 0;
    if (count > 1) return bad(std::string("Duplicate header '") + name + "'.");
  }
  return base::ok_status();
}

base::Result<SesDirectives> take_ses_directives(RawMessage& m) {
  SesDirectives d;
  auto take = [&](std::string_view name, std::optional<std::string>& into) {
    if (auto v = header(m, name)) into = *v;  // the first instance is used (§4.4)
    remove_header(m, name);
  };
  take("X-SES-CONFIGURATION-SET", d.configuration_set);
  take("X-SES-SOURCE-ARN", d.source_arn);
  take("X-SES-FROM-ARN", d.from_arn);
  take("X-SES-RETURN-PATH-ARN", d.return_path_arn);
  take("X-SES-LIST-MANAGEMENT-OPTIONS", d.list_management);
  take("X-SES-TENANT-NAME", d.tenant);
  std::optional<std::string> tags;
  take("X-SES-MESSAGE-TAGS", tags);
  if (tags) {
    std::string_view rest = *tags;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string_view item = base::trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (item.empty()) continue;
      std::size_t eq = item.find('=');
      if (eq == std::string_view::npos) return bad("Invalid message tag <" + std::string(item) + ">: expected name=value.");
      std::string_view name = base::trim(item.substr(0, eq)), value = base::trim(item.substr(eq + 1));
      if (name.empty() || name.size() > 255) return bad("Tag name cannot exceed 255 characters.");
      if (value.size() > 255) return bad("Tag value cannot exceed 255 characters.");
      if (!tag_chars(name, false))
        return bad("Invalid tag name <" + std::string(name) + ">: only alphanumeric ASCII characters, '_',  '-' are allowed.");
      if (!tag_chars(value, true))
        return bad("Invalid tag value <" + std::string(value) +
                   ">: only alphanumeric ASCII characters, '_', '-', '.', '@' are allowed.");
      if (d.tags.size() >= 50) return bad("Too many message tags: at most 50 are allowed.");
      d.tags.emplace_back(name, value);
    }
  }
  return d;
}

base::Result<std::vector<Mailbox>> header_recipients(const RawMessage& m) {
  std::vector<Mailbox> out;
  for (const char* name : {"To", "Cc", "Bcc"}) {
    for (const auto& h : m.headers) {
      if (!iequals(h.name, name)) continue;
      SESAME_ASSIGN(auto list, parse_address_list(unfold(h.value), 1000));
      for (auto& mb : list) out.push_back(std::move(mb));
    }
  }
  return out;
}

}  // namespace sesame::mime
