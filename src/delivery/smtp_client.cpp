#include "delivery/smtp_client.hpp"

#include <string>

#include "base/encoding.hpp"

namespace sesame::delivery {
namespace {

/// RFC 2920: a transaction's commands as one group, MAIL through DATA.
std::string command_group(const std::string& mail, const std::vector<std::string>& rcpts) {
  std::string group = mail;
  for (const auto& a : rcpts) group += "RCPT TO:<" + a + ">\r\n";
  return group + "DATA\r\n";
}

/// RFC 5321 §4.5.2: a line starting with "." gets another; the data ends with CRLF.CRLF.
std::string dot_stuff(const std::string& data) {
  std::string out;
  out.reserve(data.size() + 16);
  std::size_t i = 0;
  if (!data.empty() && data[0] == '.') out.push_back('.');
  for (;;) {  // copy up to and including each "\n" that a "." follows, then the extra "."
    const std::size_t j = data.find("\n.", i);
    if (j == std::string::npos) break;
    out.append(data, i, j + 1 - i);
    out.push_back('.');
    i = j + 1;
  }
  out.append(data, i, std::string::npos);
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  out += ".\r\n";
  return out;
}
}  // namespace

SmtpClient::~SmtpClient() = default;

long SmtpClient::raw_read(char* buf, std::size_t n, double deadline, std::string& error) {
  return conn_->read_some(buf, n, deadline, error);
}

bool SmtpClient::write_all(const std::string& bytes, double timeout, std::string& error) {
  return conn_->write_all(bytes, timeout, error);
}

bool SmtpClient::read_reply(smtp::Reply& out, double timeout, std::string& error) {
  const double deadline = net::monotonic_seconds() + timeout;
  for (;;) {
    std::size_t used = 0;
    switch (smtp::parse_reply(inbuf_, out, used, error)) {
      case smtp::Parse::kDone:
        inbuf_.erase(0, used);
        answered_ = true;
        return true;
      case smtp::Parse::kBad:
        error = "bad reply from the server: " + error;
        return false;
      case smtp::Parse::kIncomplete:
        break;
    }
    char buf[16384];
    long n = raw_read(buf, sizeof buf, deadline, error);
    if (n < 0) return false;
    inbuf_.append(buf, std::size_t(n));
    if (inbuf_.size() > (1u << 20)) {
      error = "reply larger than 1 MiB";
      return false;
    }
  }
}

bool SmtpClient::command(const std::string& line, smtp::Reply& out, double timeout, std::string& error) {
  return write_all(line, timeout, error) && read_reply(out, timeout, error);
}

bool SmtpClient::ehlo(smtp::Reply& out, std::string& error) {
  if (!command("EHLO " + options_.helo_name + "\r\n", out, options_.command_timeout, error)) return false;
  if (out.positive()) {
    caps_ = smtp::parse_ehlo(out);
    return true;
  }
  caps_ = {};
  return command("HELO " + options_.helo_name + "\r\n", out, options_.command_timeout, error);
}

bool SmtpClient::start_tls(std::string& error) {
  // Opportunistic TLS as MTAs do it without DANE/MTA-STS: the certificate is not checked.
  return conn_->start_tls(net::TlsClientOptions{host_, false, {}}, options_.command_timeout, error);
}

std::unique_ptr<SmtpClient> SmtpClient::open(const std::string& ip, int port, const std::string& host,
                                             const ClientOptions& options, Failure& failure) {
  std::unique_ptr<SmtpClient> c(new SmtpClient());
  c->ip_ = ip;
  c->host_ = host;
  c->options_ = options;
  c->conn_ = net::BlockingStream::connect(ip, port, options.connect_timeout, failure.error);
  if (!c->conn_) return nullptr;
  smtp::Reply r;
  std::string& error = failure.error;
  // A step succeeded and the server said yes; a refusal is kept as the failure's reply.
  auto accepted = [&](bool answered) {
    if (answered && !r.positive()) failure.reply = r;
    return answered && r.positive();
  };
  if (!accepted(c->read_reply(r, options.command_timeout, error))) return nullptr;
  if (!accepted(c->ehlo(r, error))) return nullptr;
  if (c->caps_.starttls && (options.try_starttls || options.require_tls)) {
    if (!c->command("STARTTLS\r\n", r, options.command_timeout, error)) return nullptr;
    if (r.positive()) {
      // RFC 3207 §4.2: anything the server sent before the handshake is discarded.
      c->inbuf_.clear();
      if (!c->start_tls(error)) {
        failure.tls_failed = true;
        return nullptr;
      }
      if (!accepted(c->ehlo(r, error))) return nullptr;
    } else if (options.require_tls) {
      failure.tls_missing = true;
      error = "the server refused STARTTLS (" + r.text() + ") and the TLS policy is REQUIRE";
      return nullptr;
    }
  }
  if (options.require_tls && !c->conn_->tls()) {
    failure.tls_missing = true;
    error = "the server does not offer STARTTLS and the TLS policy is REQUIRE";
    c->quit();
    return nullptr;
  }
  c->usable_ = true;
  return c;
}

std::string SmtpClient::mail_command(const std::string& mail_from, const std::vector<std::string>& rcpts,
                                     const std::string& data, std::optional<smtp::Reply>& refused) const {
  bool utf8 = !base::is_ascii(mail_from);
  for (const auto& a : rcpts) utf8 = utf8 || !base::is_ascii(a);
  if (caps_.size && data.size() > caps_.size) {
    refused = smtp::Reply{
        552, {"5.3.4 Message size exceeds fixed maximum message size (" + std::to_string(caps_.size) + ")"}, "5.3.4"};
    return {};
  }
  if (utf8 && !caps_.smtputf8) {
    refused = smtp::Reply{
        553, {"5.6.7 The destination does not support SMTPUTF8 for this internationalized address"}, "5.6.7"};
    return {};
  }
  std::string mail = "MAIL FROM:<" + mail_from + ">";
  if (caps_.size) mail += " SIZE=" + std::to_string(data.size());
  if (caps_.eightbitmime && !base::is_ascii(data)) mail += " BODY=8BITMIME";
  if (utf8) mail += " SMTPUTF8";
  mail += "\r\n";
  return mail;
}

std::vector<RcptResult> SmtpClient::send(const std::string& mail_from, const std::vector<std::string>& rcpts,
                                         const std::string& data, const Envelope* next) {
  std::vector<RcptResult> out(rcpts.size());
  usable_ = false;  // until the transaction ends cleanly
  answered_ = false;
  ++transactions_;
  auto fail_all = [&](const std::string& err) {
    for (auto& r : out)
      if (!r.reply) r.error = err;
    return out;
  };
  auto decide_all = [&](const smtp::Reply& rep) {
    for (auto& r : out)
      if (!r.reply) r.reply = rep;
  };
  // Commands sent ahead by the previous send() (its `next`) are this transaction's.
  const std::string presented = std::move(presented_);
  presented_.clear();
  std::optional<smtp::Reply> refused;
  const std::string mail = mail_command(mail_from, rcpts, data, refused);
  if (refused) {  // never a transaction sent ahead: send() presents only what would pass here
    decide_all(*refused);
    usable_ = true;
    return out;
  }
  std::string err;
  const double t = options_.command_timeout;
  smtp::Reply mail_reply, data_reply;
  std::size_t accepted = 0;
  if (caps_.pipelining) {
    // RFC 2920: MAIL, every RCPT and DATA in one write; the replies come back in order.
    const std::string batch = command_group(mail, rcpts);
    if (!presented.empty() && presented != batch)
      return fail_all("the transaction sent ahead on this connection was another one");
    if ((presented.empty() && !write_all(batch, t, err)) || !read_reply(mail_reply, t, err)) return fail_all(err);
    if (!mail_reply.positive()) {
      // MAIL was refused: that reply decides every recipient, whatever happens next (many
      // servers hang up right after a 5xx here). Drain the rest best-effort.
      decide_all(mail_reply);
      smtp::Reply r;
      bool ok = true;
      for (std::size_t i = 0; ok && i <= rcpts.size(); ++i) ok = read_reply(r, t, err);  // RCPTs and DATA
      if (ok && r.code == 354) ok = write_all(".\r\n", t, err) && read_reply(r, t, err);
      usable_ = ok && reset(err);
      return out;
    }
    for (std::size_t i = 0; i < rcpts.size(); ++i) {
      smtp::Reply r;
      if (!read_reply(r, t, err)) return fail_all(err);
      if (r.positive()) ++accepted;
      else out[i].reply = r;
    }
    if (!read_reply(data_reply, t, err)) return fail_all(err);
    if (data_reply.code == 354 && accepted == 0) {
      // Some servers answer 354 even with no valid recipient; send an empty message's end.
      if (!write_all(".\r\n", t, err) || !read_reply(data_reply, t, err)) return fail_all(err);
      usable_ = true;
      return out;
    }
  } else {  // (nothing is presented without PIPELINING)
    if (!command(mail, mail_reply, t, err)) return fail_all(err);
    if (!mail_reply.positive()) {
      decide_all(mail_reply);
      usable_ = reset(err);
      return out;
    }
    for (std::size_t i = 0; i < rcpts.size(); ++i) {
      smtp::Reply r;
      if (!command("RCPT TO:<" + rcpts[i] + ">\r\n", r, t, err)) return fail_all(err);
      if (r.positive()) ++accepted;
      else out[i].reply = r;
    }
    if (accepted == 0) {
      usable_ = reset(err);
      return out;
    }
    if (!command("DATA\r\n", data_reply, t, err)) return fail_all(err);
  }
  if (accepted == 0) {
    // Pipelined, every RCPT refused, and DATA refused with them: the server still holds
    // the MAIL (Postfix and aiosmtpd answer the next one "503 nested MAIL command").
    usable_ = reset(err);
    return out;
  }
  if (data_reply.code != 354) {
    decide_all(data_reply);
    usable_ = reset(err);
    return out;
  }
  std::string payload = dot_stuff(data);
  std::string ahead;  // the next transaction's commands, behind the final dot
  if (next && caps_.pipelining) {
    std::optional<smtp::Reply> next_refused;
    const std::string next_mail = mail_command(next->mail_from, next->recipients, next->data, next_refused);
    if (!next_refused) ahead = command_group(next_mail, next->recipients);
  }
  payload += ahead;
  smtp::Reply final_reply;
  const double sent_at = net::monotonic_seconds();
  if (!write_all(payload, options_.data_timeout, err) || !read_reply(final_reply, options_.data_timeout, err))
    return fail_all(err);
  last_data_seconds_ = net::monotonic_seconds() - sent_at;
  decide_all(final_reply);
  presented_ = std::move(ahead);
  usable_ = true;
  return out;
}

bool SmtpClient::reset(std::string& error) {
  smtp::Reply r;
  return command("RSET\r\n", r, options_.command_timeout, error) && r.positive();
}

void SmtpClient::quit() {
  if (!conn_ || !conn_->open()) return;
  if (!presented_.empty()) {  // the server waits for a message: QUIT would be read as one
    usable_ = false;
    conn_->close();
    return;
  }
  std::string err;
  smtp::Reply r;
  (void)command("QUIT\r\n", r, 2, err);
  usable_ = false;
  conn_->close();
}

}  // namespace sesame::delivery
