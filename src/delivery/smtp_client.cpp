#include "delivery/smtp_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

namespace sesame::delivery {
namespace {

double mono() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Waits until `fd` is ready for `events` or the deadline passes.
bool wait_fd(int fd, short events, double deadline) {
  for (;;) {
    double left = deadline - mono();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, int(left * 1000) + 1);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

/// Opportunistic TLS as MTAs do it without DANE/MTA-STS: TLS 1.2 or newer, the peer's
/// certificate is not checked (a self-signed MX still gets an encrypted channel).
SSL_CTX* client_ctx() {
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return c;
  }();
  return ctx;
}

std::string ssl_error_text() {
  unsigned long e = ERR_get_error();
  if (!e) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

bool has_8bit(const std::string& s) {
  for (unsigned char c : s)
    if (c & 0x80) return true;
  return false;
}

/// RFC 5321 §4.5.2: a line starting with "." gets another; the data ends with CRLF.CRLF.
std::string dot_stuff(const std::string& data) {
  std::string out;
  out.reserve(data.size() + data.size() / 64 + 8);
  bool line_start = true;
  for (char c : data) {
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = c == '\n';
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  out += ".\r\n";
  return out;
}
}  // namespace

SmtpClient::~SmtpClient() {
  if (tls_) SSL_free(static_cast<SSL*>(tls_));
  if (fd_ >= 0) ::close(fd_);
}

long SmtpClient::raw_read(char* buf, std::size_t n, double deadline, std::string& error) {
  for (;;) {
    if (tls_) {
      SSL* ssl = static_cast<SSL*>(tls_);
      ERR_clear_error();  // SSL_get_error reads this thread's queue: start it empty
      int r = SSL_read(ssl, buf, int(n));
      if (r > 0) return r;
      int e = SSL_get_error(ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!wait_fd(fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
          error = "timed out waiting for the server";
          return -1;
        }
        continue;
      }
      error = e == SSL_ERROR_ZERO_RETURN ? "connection closed by the server" : ssl_error_text();
      return -1;
    }
    ssize_t r = ::recv(fd_, buf, n, 0);
    if (r > 0) return r;
    if (r == 0) {
      error = "connection closed by the server";
      return -1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (!wait_fd(fd_, POLLIN, deadline)) {
        error = "timed out waiting for the server";
        return -1;
      }
      continue;
    }
    error = std::string("read failed: ") + std::strerror(errno);
    return -1;
  }
}

bool SmtpClient::write_all(const std::string& bytes, double timeout, std::string& error) {
  const double deadline = mono() + timeout;
  std::size_t off = 0;
  while (off < bytes.size()) {
    if (tls_) {
      SSL* ssl = static_cast<SSL*>(tls_);
      ERR_clear_error();
      int r = SSL_write(ssl, bytes.data() + off, int(std::min<std::size_t>(bytes.size() - off, 1 << 20)));
      if (r > 0) {
        off += std::size_t(r);
        continue;
      }
      int e = SSL_get_error(ssl, r);
      if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
          wait_fd(fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        continue;
      error = (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? "timed out writing to the server" : ssl_error_text();
      return false;
    }
    ssize_t r = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (r > 0) {
      off += std::size_t(r);
      continue;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (wait_fd(fd_, POLLOUT, deadline)) continue;
      error = "timed out writing to the server";
      return false;
    }
    error = std::string("write failed: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool SmtpClient::read_reply(smtp::Reply& out, double timeout, std::string& error) {
  const double deadline = mono() + timeout;
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
  SSL* ssl = SSL_new(client_ctx());
  if (!ssl) {
    error = ssl_error_text();
    return false;
  }
  SSL_set_fd(ssl, fd_);
  if (!host_.empty()) SSL_set_tlsext_host_name(ssl, host_.c_str());
  tls_ = ssl;
  const double deadline = mono() + options_.command_timeout;
  for (;;) {
    ERR_clear_error();
    int r = SSL_connect(ssl);
    if (r == 1) return true;
    int e = SSL_get_error(ssl, r);
    if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
        wait_fd(fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
      continue;
    error = "TLS handshake failed: " + ssl_error_text();
    return false;
  }
}

std::unique_ptr<SmtpClient> SmtpClient::open(const std::string& ip, int port, const std::string& host,
                                             const ClientOptions& options, Failure& failure) {
  std::unique_ptr<SmtpClient> c(new SmtpClient());
  c->ip_ = ip;
  c->host_ = host;
  c->options_ = options;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&ss); inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(std::uint16_t(port));
    len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss); inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(std::uint16_t(port));
    len = sizeof(sockaddr_in6);
  } else {
    failure.error = "not an IP address: " + ip;
    return nullptr;
  }
  c->fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd_ < 0) {
    failure.error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  int one = 1;
  ::setsockopt(c->fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(c->fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) {
      failure.error = "connect to " + ip + ": " + std::strerror(errno);
      return nullptr;
    }
    if (!wait_fd(c->fd_, POLLOUT, mono() + options.connect_timeout)) {
      failure.error = "connect to " + ip + ": timed out";
      return nullptr;
    }
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(c->fd_, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
      failure.error = "connect to " + ip + ": " + std::strerror(err);
      return nullptr;
    }
  }
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
  if (options.require_tls && !c->tls_) {
    failure.tls_missing = true;
    error = "the server does not offer STARTTLS and the TLS policy is REQUIRE";
    c->quit();
    return nullptr;
  }
  c->usable_ = true;
  return c;
}

std::vector<RcptResult> SmtpClient::send(const std::string& mail_from, const std::vector<std::string>& rcpts,
                                         const std::string& data) {
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
  bool utf8 = false;
  for (const auto& a : rcpts) utf8 = utf8 || has_8bit(a);
  utf8 = utf8 || has_8bit(mail_from);
  if (caps_.size && data.size() > caps_.size) {
    smtp::Reply too_big{552, {"5.3.4 Message size exceeds fixed maximum message size (" + std::to_string(caps_.size) + ")"}, "5.3.4"};
    decide_all(too_big);
    usable_ = true;
    return out;
  }
  if (utf8 && !caps_.smtputf8) {
    smtp::Reply no_utf8{553, {"5.6.7 The destination does not support SMTPUTF8 for this internationalized address"}, "5.6.7"};
    decide_all(no_utf8);
    usable_ = true;
    return out;
  }
  std::string mail = "MAIL FROM:<" + mail_from + ">";
  if (caps_.size) mail += " SIZE=" + std::to_string(data.size());
  if (caps_.eightbitmime && has_8bit(data)) mail += " BODY=8BITMIME";
  if (utf8) mail += " SMTPUTF8";
  mail += "\r\n";
  std::string err;
  const double t = options_.command_timeout;
  smtp::Reply mail_reply, data_reply;
  std::size_t accepted = 0;
  if (caps_.pipelining) {
    // RFC 2920: MAIL, every RCPT and DATA in one write; the replies come back in order.
    std::string batch = mail;
    for (const auto& a : rcpts) batch += "RCPT TO:<" + a + ">\r\n";
    batch += "DATA\r\n";
    if (!write_all(batch, t, err) || !read_reply(mail_reply, t, err)) return fail_all(err);
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
  } else {
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
    usable_ = true;
    return out;
  }
  if (data_reply.code != 354) {
    decide_all(data_reply);
    usable_ = reset(err);
    return out;
  }
  smtp::Reply final_reply;
  if (!write_all(dot_stuff(data), options_.data_timeout, err) || !read_reply(final_reply, options_.data_timeout, err))
    return fail_all(err);
  decide_all(final_reply);
  usable_ = true;
  return out;
}

bool SmtpClient::reset(std::string& error) {
  smtp::Reply r;
  return command("RSET\r\n", r, options_.command_timeout, error) && r.positive();
}

void SmtpClient::quit() {
  if (fd_ < 0) return;
  std::string err;
  smtp::Reply r;
  (void)command("QUIT\r\n", r, 2, err);
  usable_ = false;
  if (tls_) {
    ERR_clear_error();
    SSL_shutdown(static_cast<SSL*>(tls_));
    ERR_clear_error();
    SSL_free(static_cast<SSL*>(tls_));
    tls_ = nullptr;
  }
  ::close(fd_);
  fd_ = -1;
}

}  // namespace sesame::delivery
