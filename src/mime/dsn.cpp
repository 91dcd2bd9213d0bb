#include "mime/dsn.hpp"

#include "base/ids.hpp"
#include "mime/raw_message.hpp"
#include "mime/simple_message.hpp"

namespace sesame::mime {
namespace {
std::string one_line(const std::string& s, std::size_t max = 900) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) break;
    out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  }
  return out;
}
/// The header block every report Sesame sends starts with (an automatic message, RFC 3834).
std::string report_head(const std::string& from, const std::string& to, const std::string& subject,
                        const std::string& message_id, base::EpochSeconds now, const std::string& content_type) {
  return "From: " + from + "\r\nTo: " + one_line(to) + "\r\nSubject: " + one_line(subject, 200) +
         "\r\nDate: " + rfc5322_date(now) + "\r\nMessage-ID: <" + one_line(message_id) +
         ">\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: " + content_type + "\r\n";
}
}  // namespace

std::string build_dsn(const Dsn& d) {
  const std::string boundary = "=_sesame_dsn_" + base::token(20);
  std::string m = report_head("Mail Delivery Subsystem <" + one_line(d.from) + ">", d.to,
                              "Delivery Status Notification (Failure)", d.message_id, d.now,
                              "multipart/report; report-type=delivery-status; boundary=\"" + boundary + "\"");
  m += "\r\n";
  m += "This is a delivery status notification (RFC 3464).\r\n\r\n";
  m += "--" + boundary + "\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n";
  m += "An error occurred while trying to deliver the mail to the following recipients:\r\n\r\n";
  for (const auto& r : d.recipients) m += "  " + one_line(r.address) + ": " + one_line(r.diagnostic) + "\r\n";
  m += "\r\n--" + boundary + "\r\nContent-Type: message/delivery-status\r\n\r\n";
  m += "Reporting-MTA: dns; " + one_line(d.reporting_mta) + "\r\n";
  m += "Arrival-Date: " + rfc5322_date(d.arrival) + "\r\n";
  for (const auto& r : d.recipients) {
    m += "\r\nFinal-Recipient: rfc822; " + one_line(r.address) + "\r\n";
    m += "Action: failed\r\n";
    m += "Status: " + one_line(r.status.empty() ? "5.0.0" : r.status, 16) + "\r\n";
    if (!r.remote_mta.empty()) m += "Remote-MTA: dns; " + one_line(r.remote_mta) + "\r\n";
    if (!r.diagnostic.empty()) m += "Diagnostic-Code: smtp; " + one_line(r.diagnostic) + "\r\n";
    m += "Last-Attempt-Date: " + rfc5322_date(d.now) + "\r\n";
  }
  m += "\r\n--" + boundary + "\r\nContent-Type: text/rfc822-headers\r\n\r\n";
  m += d.original_headers;
  if (!d.original_headers.empty() && d.original_headers.size() >= 2 &&
      d.original_headers.compare(d.original_headers.size() - 2, 2, "\r\n") != 0)
    m += "\r\n";
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

std::string build_arf(const Arf& a) {
  const std::string boundary = "=_sesame_arf_" + base::token(20);
  std::string m = report_head(one_line(a.from), a.to, "Complaint about your message", a.message_id, a.now,
                              "multipart/report; report-type=feedback-report; boundary=\"" + boundary + "\"");
  m += "\r\n";
  m += "--" + boundary + "\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n";
  m += "This is an email abuse report for a message sent to " + one_line(a.original_rcpt_to) + ".\r\n\r\n";
  m += "--" + boundary + "\r\nContent-Type: message/feedback-report\r\n\r\n";
  m += "Feedback-Type: " + one_line(a.feedback_type, 64) + "\r\n";
  m += "User-Agent: " + one_line(a.user_agent, 200) + "\r\n";
  m += "Version: 1\r\n";
  m += "Original-Mail-From: <" + one_line(a.original_mail_from) + ">\r\n";
  m += "Original-Rcpt-To: <" + one_line(a.original_rcpt_to) + ">\r\n";
  m += "Arrival-Date: " + rfc5322_date(a.arrival) + "\r\n";
  m += "\r\n--" + boundary + "\r\nContent-Type: text/rfc822-headers\r\n\r\n";
  m += a.original_headers;
  if (a.original_headers.size() >= 2 && a.original_headers.compare(a.original_headers.size() - 2, 2, "\r\n") != 0)
    m += "\r\n";
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

std::string forward_report(std::string_view report, const std::string& from, const std::string& to,
                           const std::string& subject, const std::string& message_id, base::EpochSeconds now) {
  RawLimits lim;
  lim.max_line = 1u << 20;
  auto r = parse_raw(report, lim);
  if (!r.ok()) return {};
  std::string m = report_head(one_line(from), to, subject, message_id, now,
                              one_line(header(r.value(), "Content-Type").value_or("text/plain; charset=us-ascii")));
  if (auto cte = header(r.value(), "Content-Transfer-Encoding")) m += "Content-Transfer-Encoding: " + one_line(*cte, 64) + "\r\n";
  m += "\r\n";
  m += r.value().body;
  return m;
}

}  // namespace sesame::mime
