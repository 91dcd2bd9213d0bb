// See report.hpp.
#include "mime/report.hpp"

#include <algorithm>

#include "base/encoding.hpp"
#include "mime/address.hpp"
#include "mime/parts.hpp"
#include "mime/raw_message.hpp"

namespace sesame::mime {
namespace {

/// Field groups of a message/delivery-status or message/feedback-report body: blocks
/// separated by blank lines, each a list of (name, unfolded value).
using Fields = std::vector<std::pair<std::string, std::string>>;
std::vector<Fields> field_groups(std::string_view text) {
  std::vector<Fields> groups(1);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find("\r\n", pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 2;
    if (base::trim(line).empty()) {
      if (!groups.back().empty()) groups.emplace_back();
      continue;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !groups.back().empty()) {
      groups.back().back().second += " " + std::string(base::trim(line));
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 64) continue;
    groups.back().emplace_back(base::to_lower_ascii(base::trim(line.substr(0, colon))),
                               std::string(base::trim(line.substr(colon + 1))));
  }
  if (groups.back().empty()) groups.pop_back();
  return groups;
}

std::string field(const Fields& f, std::string_view name) {
  for (const auto& [k, v] : f)
    if (k == name) return v;
  return {};
}

/// "rfc822; User@Example.com" → "user@example.com".
std::string address_of(const std::string& typed) {
  std::string_view v = typed;
  if (auto semi = v.find(';'); semi != std::string_view::npos) v = v.substr(semi + 1);
  v = base::trim(v);
  if (!v.empty() && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
  if (v.find('@') == std::string_view::npos || v.size() > 320) return {};
  for (char c : v)
    if (static_cast<unsigned char>(c) <= 32) return {};
  return base::to_lower_ascii(v);
}

/// An RFC 3463 status code at the start of `s` ("5.1.1"), or empty.
std::string status_code(std::string_view s) {
  s = base::trim(s);
  std::size_t i = 0;
  if (s.empty() || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s.size() < 5 || s[1] != '.') return {};
  i = 2;
  std::size_t d = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && d < 3) ++i, ++d;
  if (d == 0 || i >= s.size() || s[i] != '.') return {};
  ++i;
  d = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && d < 3) ++i, ++d;
  if (d == 0) return {};
  return std::string(s.substr(0, i));
}

void take_dsn_fields(Report& r, std::string_view text, const ReportLimits& lim) {
  auto groups = field_groups(text);
  for (const auto& g : groups) {
    if (r.reporting_mta.empty()) r.reporting_mta = field(g, "reporting-mta");
    std::string final_rcpt = field(g, "final-recipient");
    if (final_rcpt.empty()) final_rcpt = field(g, "original-recipient");
    if (final_rcpt.empty()) continue;
    ReportRecipient rr;
    rr.address = address_of(final_rcpt);
    if (rr.address.empty()) continue;
    rr.action = base::to_lower_ascii(field(g, "action"));
    rr.status = status_code(field(g, "status"));
    rr.diagnostic = field(g, "diagnostic-code").substr(0, 1000);
    rr.remote_mta = field(g, "remote-mta").substr(0, 256);
    if (rr.action.empty()) rr.action = rr.status.rfind("5", 0) == 0 ? "failed" : "";
    if (r.recipients.size() >= lim.max_recipients) break;
    r.recipients.push_back(std::move(rr));
  }
}

void take_original(Report& r, std::string_view text) {
  RawLimits rl;
  rl.max_line = 1u << 20;
  auto m = parse_raw(text, rl);
  if (!m.ok()) return;
  if (auto id = header(m.value(), "Message-ID")) {
    std::string v(base::trim(*id));
    if (v.size() > 2 && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
    if (v.size() <= 256) r.original_message_id = v;
  }
  if (auto to = header(m.value(), "To")) {
    auto list = parse_address_list(*to, 100);
    if (list.ok())
      for (const auto& mb : list.value()) r.original_to.push_back(base::to_lower_ascii(mb.address));
  }
}

/// qmail and similar: "<user@example.net>:" then a paragraph with the remote's answer.
void take_plain_bounces(Report& r, std::string_view body, const ReportLimits& lim) {
  std::size_t pos = 0;
  while (pos < body.size() && r.recipients.size() < lim.max_recipients) {
    std::size_t eol = body.find("\r\n", pos);
    std::string_view line = base::trim(body.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos));
    pos = eol == std::string_view::npos ? body.size() : eol + 2;
    if (line.size() < 5 || line.front() != '<' || line.substr(line.size() - 2) != ">:") continue;
    std::string address = address_of(std::string(line.substr(1, line.size() - 3)));
    if (address.empty()) continue;
    // The paragraph that follows: its first SMTP reply code decides.
    std::string paragraph;
    while (pos < body.size()) {
      std::size_t e = body.find("\r\n", pos);
      std::string_view l = body.substr(pos, e == std::string_view::npos ? std::string_view::npos : e - pos);
      if (base::trim(l).empty()) break;
      paragraph += std::string(base::trim(l)) + " ";
      pos = e == std::string_view::npos ? body.size() : e + 2;
      if (paragraph.size() > 1000) break;
    }
    // An enhanced status code when there is one, else the first reply code.
    std::string status;
    for (std::size_t i = 0; i + 3 <= paragraph.size() && status.empty(); ++i)
      if (i == 0 || !std::isalnum(static_cast<unsigned char>(paragraph[i - 1])))
        status = status_code(std::string_view(paragraph).substr(i));
    for (std::size_t i = 0; i + 3 <= paragraph.size() && status.empty(); ++i) {
      if (i > 0 && std::isalnum(static_cast<unsigned char>(paragraph[i - 1]))) continue;
      if ((paragraph[i] == '5' || paragraph[i] == '4') && std::isdigit(static_cast<unsigned char>(paragraph[i + 1])) &&
          std::isdigit(static_cast<unsigned char>(paragraph[i + 2])) &&
          (i + 3 == paragraph.size() || paragraph[i + 3] == ' ' || paragraph[i + 3] == '-'))
        status = std::string(1, paragraph[i]) + ".0.0";
    }
    if (status.empty()) continue;
    r.recipients.push_back(ReportRecipient{address, status[0] == '5' ? "failed" : "delayed", status,
                                           "smtp; " + std::string(base::trim(paragraph)).substr(0, 1000), ""});
  }
}
}  // namespace

base::Result<Report> parse_report(std::string_view message, const ReportLimits& lim) {
  RawLimits rl;
  rl.max_bytes = lim.max_bytes;
  rl.max_line = lim.max_line;
  SESAME_ASSIGN(auto m, parse_raw(message, rl));
  Report r;
  const std::string auto_submitted = base::to_lower_ascii(header(m, "Auto-Submitted").value_or(""));
  const std::string precedence = base::to_lower_ascii(header(m, "Precedence").value_or(""));
  r.auto_reply = auto_submitted.rfind("auto-replied", 0) == 0 || precedence == "auto_reply";
  const std::string ct = header(m, "Content-Type").value_or("text/plain");
  if (media_type(ct) == "multipart/report") {
    const std::string report_type = base::to_lower_ascii(content_param(ct, "report-type"));
    for (std::string_view part : parts_of(m.body, content_param(ct, "boundary"), lim.max_parts)) {
      auto pm = parse_raw(part, rl);
      if (!pm.ok()) continue;
      const std::string pct = media_type(header(pm.value(), "Content-Type").value_or("text/plain"));
      if (pct == "message/delivery-status" || pct == "message/global-delivery-status") {
        r.kind = Report::kDsn;
        r.standard = true;
        take_dsn_fields(r, pm.value().body, lim);
      } else if (pct == "message/feedback-report") {
        r.kind = Report::kArf;
        r.standard = true;
        for (const auto& g : field_groups(pm.value().body))
          for (const auto& [k, v] : g) {
            if (k == "feedback-type" && r.feedback_type.empty()) r.feedback_type = base::to_lower_ascii(v).substr(0, 64);
            else if (k == "user-agent" && r.user_agent.empty()) r.user_agent = v.substr(0, 256);
            else if ((k == "arrival-date" || k == "received-date") && r.arrival_date.empty()) r.arrival_date = v.substr(0, 128);
            else if (k == "original-rcpt-to" && r.original_rcpt_to.size() < lim.max_recipients) {
              std::string a = address_of(v);
              if (!a.empty()) r.original_rcpt_to.push_back(a);
            }
          }
      } else if (pct == "message/rfc822" || pct == "text/rfc822-headers" || pct == "message/global" ||
                 pct == "message/global-headers") {
        take_original(r, pm.value().body);
      }
    }
    if (r.kind == Report::kNone && report_type == "feedback-report") r.kind = Report::kArf;
    return r;
  }
  // Non-standard bounces: DSN fields written into a plain body, or qmail's paragraphs.
  if (media_type(ct).rfind("text/", 0) == 0 && !r.auto_reply) {
    take_dsn_fields(r, m.body, lim);
    if (r.recipients.empty()) take_plain_bounces(r, m.body, lim);
    if (!r.recipients.empty()) r.kind = Report::kDsn;
  }
  return r;
}

}  // namespace sesame::mime
