// MIME assembly for Simple content; see simple_message.hpp.
#include "mime/simple_message.hpp"

#include <cstdio>
#include <ctime>

#include "base/encoding.hpp"
#include "base/ids.hpp"
#include "mime/encoding.hpp"

namespace sesame::mime {
namespace {
using base::ErrorCode;

base::Error bad(std::string msg) { return base::make_error(ErrorCode::kInvalidParameter, std::move(msg)); }

bool has_crlf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool token(std::string_view s) {  // RFC 2045 token, for charsets
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (c <= 32 || c >= 127 || std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos) return false;
  return true;
}

/// Headers Sesame writes itself; a custom header may not replace them.
bool reserved(std::string_view name) {
  static const char* kOwn[] = {"from", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id",
                               "mime-version", "content-type", "content-transfer-encoding", "return-path"};
  std::string n = base::to_lower_ascii(name);
  for (const char* k : kOwn)
    if (n == k) return true;
  return false;
}

std::string address_list(const std::vector<Mailbox>& list) {
  std::string out;
  for (std::size_t i = 0; i < list.size(); ++i) out += (i ? ",\r\n " : "") + format_mailbox(list[i]);
  return out;
}

/// A text body part: 7bit when it is ASCII with short lines, else quoted-printable.
std::string text_part(const TextPart& p, const char* subtype) {
  std::string body = crlf(p.data);
  bool seven_bit = base::is_ascii(body) && lines_within(body, 998);
  std::string out = "Content-Type: text/" + std::string(subtype) + "; charset=" + p.charset + "\r\n";
  out += std::string("Content-Transfer-Encoding: ") + (seven_bit ? "7bit" : "quoted-printable") + "\r\n\r\n";
  out += seven_bit ? body : quoted_printable(body);
  return out;  // no line break added: in a multipart, the one before the delimiter is the delimiter's
}

std::string guess_type(const std::string& file) {
  std::string ext = base::to_lower_ascii(file.substr(file.rfind('.') == std::string::npos ? file.size() : file.rfind('.') + 1));
  static const std::pair<const char*, const char*> kTypes[] = {
      {"pdf", "application/pdf"}, {"png", "image/png"},   {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},       {"txt", "text/plain"},  {"csv", "text/csv"},   {"html", "text/html"},
      {"ics", "text/calendar"},   {"zip", "application/zip"}, {"json", "application/json"}};
  for (const auto& [e, t] : kTypes)
    if (ext == e) return t;
  return "application/octet-stream";
}

/// RFC 2231-free quoting: the file name is RFC 2047-encoded when not ASCII (what common
/// clients read) and quoted otherwise.
std::string quoted_param(const std::string& v) {
  if (!base::is_ascii(v)) return "\"" + encode_words(v) + "\"";
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

base::Result<std::string> attachment_part(const Attachment& a) {
  if (has_crlf(a.file_name) || has_crlf(a.content_type) || has_crlf(a.content_id) || has_crlf(a.description))
    return bad("Attachment fields may not contain line breaks.");
  std::string type = a.content_type.empty() ? guess_type(a.file_name) : a.content_type;
  std::string out = "Content-Type: " + type + "; name=" + quoted_param(a.file_name) + "\r\n";
  out += std::string("Content-Disposition: ") + (a.inline_disposition ? "inline" : "attachment") +
         "; filename=" + quoted_param(a.file_name) + "\r\n";
  if (!a.content_id.empty()) out += "Content-ID: <" + a.content_id + ">\r\n";
  if (!a.description.empty()) out += "Content-Description: " + encode_words(a.description) + "\r\n";
  if (a.transfer_encoding == "quoted-printable") {
    out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + quoted_printable(a.raw);
  } else if (a.transfer_encoding == "7bit") {
    if (!base::is_ascii(a.raw) || !lines_within(a.raw, 998))
      return bad("Attachment " + a.file_name + " is not 7-bit data.");
    out += "Content-Transfer-Encoding: 7bit\r\n\r\n" + crlf(a.raw);
  } else {
    out += "Content-Transfer-Encoding: base64\r\n\r\n" + base64_lines(a.raw);
  }
  return out;
}

std::string multipart(const char* subtype, const std::vector<std::string>& parts) {
  std::string boundary = "=_sesame_" + base::token(24);
  std::string out = "Content-Type: multipart/" + std::string(subtype) + "; boundary=\"" + boundary + "\"\r\n\r\n";
  // RFC 2046 §5.1.1: the CRLF before "--boundary" belongs to the delimiter, so a part's own
  // final line break survives only when one more is written.
  for (const auto& p : parts) out += "--" + boundary + "\r\n" + p + "\r\n";
  out += "--" + boundary + "--\r\n";
  return out;
}
}  // namespace

std::string rfc5322_date(base::EpochSeconds t) {
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (!(t >= 0)) t = 0;
  if (t > 253402300799.0) t = 253402300799.0;  // year 9999: keeps the cast in range
  std::time_t s = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

base::Result<std::string> build_simple(const SimpleMessage& m) {
  if (has_crlf(m.subject.data)) return bad("Subject may not contain line breaks.");
  for (const auto* p : {&m.subject, m.text ? &*m.text : nullptr, m.html ? &*m.html : nullptr})
    if (p && !token(p->charset)) return bad("Invalid charset " + p->charset + ".");
  if (!m.text && !m.html && m.attachments.empty()) return bad("The message must have a text or HTML body.");

  std::string h;
  if (!m.from.address.empty()) h += "From: " + format_mailbox(m.from) + "\r\n";  // none in test renders
  if (!m.to.empty()) h += "To: " + address_list(m.to) + "\r\n";
  if (!m.cc.empty()) h += "Cc: " + address_list(m.cc) + "\r\n";
  if (!m.reply_to.empty()) h += "Reply-To: " + address_list(m.reply_to) + "\r\n";
  h += "Subject: " +
       (base::is_ascii(m.subject.data) ? m.subject.data : encode_words(m.subject.data, m.subject.charset)) + "\r\n";
  h += "Date: " + rfc5322_date(m.date) + "\r\n";
  h += "Message-ID: <" + m.message_id + ">\r\n";
  for (const auto& [name, value] : m.headers) {
    if (name.empty() || name.size() > 76 || reserved(name)) return bad("Invalid custom header name " + name + ".");
    for (char c : name)
      if (c <= 32 || c >= 127 || c == ':') return bad("Invalid custom header name " + name + ".");
    if (has_crlf(value)) return bad("Header " + name + " may not contain line breaks.");
    h += name + ": " + encode_words(value) + "\r\n";
  }
  h += "MIME-Version: 1.0\r\n";

  std::string body;
  if (m.text && m.html) body = multipart("alternative", {text_part(*m.text, "plain"), text_part(*m.html, "html")});
  else if (m.html) body = text_part(*m.html, "html");
  else if (m.text) body = text_part(*m.text, "plain");

  std::vector<std::string> inline_parts, attached;
  for (const auto& a : m.attachments) {
    SESAME_ASSIGN(auto part, attachment_part(a));
    (a.inline_disposition && !a.content_id.empty() ? inline_parts : attached).push_back(std::move(part));
  }
  if (!inline_parts.empty()) {
    inline_parts.insert(inline_parts.begin(), body.empty() ? text_part(TextPart{}, "plain") : body);
    body = multipart("related", inline_parts);
  }
  if (!attached.empty()) {
    if (!body.empty()) attached.insert(attached.begin(), body);
    body = multipart("mixed", attached);
  }
  // `body` starts with its own Content-Type (and CTE) lines, which end the header block.
  if (body.size() < 2 || body.compare(body.size() - 2, 2, "\r\n") != 0) body += "\r\n";
  return h + body;
}

}  // namespace sesame::mime
