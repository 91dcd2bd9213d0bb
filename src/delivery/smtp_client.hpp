// The outbound SMTP client: one connection to one MX address, EHLO, STARTTLS when offered
// (TLS 1.2+; REQUIRE policy refuses to go on in clear), and transactions with PIPELINING,
// SIZE, 8BITMIME and SMTPUTF8. Blocking I/O with a deadline on every step: delivery runs
// on its own worker threads, one connection per worker at a time (docs/decisions/004).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "net/blocking_stream.hpp"
#include "smtp/reply.hpp"

namespace sesame::delivery {

struct ClientOptions {
  std::string helo_name = "localhost";
  double connect_timeout = 30;
  double command_timeout = 300;  // RFC 5321 §4.5.3.2: 5 minutes per command
  double data_timeout = 600;     // for the final "." (10 minutes)
  bool require_tls = false;
  bool try_starttls = true;  // false: stay in clear even when offered (fallback after a failed handshake)
};

/// Why a connection could not be opened (or went away): a remote reply, or local text.
struct Failure {
  std::optional<smtp::Reply> reply;
  std::string error;  // when there is no reply (network, timeout, TLS)
  bool tls_missing = false;
  bool tls_failed = false;  // STARTTLS was offered but the handshake failed
};

/// One recipient's outcome in a transaction: the reply that decided it, or a local error
/// (the connection failed before a decision; always temporary).
struct RcptResult {
  std::optional<smtp::Reply> reply;
  std::string error;
};


class SmtpClient {
 public:
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  /// Connects to `ip`:`port`, reads the greeting, says EHLO (HELO if refused), and upgrades
  /// with STARTTLS when offered. Fails when TLS is required and not achieved.
  static std::unique_ptr<SmtpClient> open(const std::string& ip, int port, const std::string& host,
                                          const ClientOptions& options, Failure& failure);

  /// A transaction's envelope and message, for send()'s `next`.
  struct Envelope {
    const std::string& mail_from;
    const std::vector<std::string>& recipients;
    const std::string& data;
  };
  /// One transaction: results in the order of `recipients`. `data` is the message with
  /// CRLF line ends, not yet dot-stuffed. With `next`, when the server offers PIPELINING,
  /// the next transaction's commands (MAIL, RCPT, DATA) go out behind this message's final
  /// dot in the same write (RFC 2920 §3.1: the message content may lead a group), and
  /// presented() says so: the next send() on this connection must then be that transaction
  /// (its replies are read, its commands not written again).
  std::vector<RcptResult> send(const std::string& mail_from, const std::vector<std::string>& recipients,
                               const std::string& data, const Envelope* next = nullptr);
  /// Whether the last send() sent its `next`'s commands ahead.
  bool presented() const { return !presented_.empty(); }
  bool pipelining() const { return caps_.pipelining; }
  /// Seconds the server took to answer the last message's final dot (negative: none yet).
  double last_data_seconds() const { return last_data_seconds_; }

  /// True when the connection is still in a clean state for another transaction.
  bool reusable() const { return usable_; }
  bool tls() const { return conn_ && conn_->tls(); }
  const std::string& ip() const { return ip_; }
  const std::string& host() const { return host_; }
  int transactions() const { return transactions_; }
  /// Whether the server answered anything during the last send().
  bool answered() const { return answered_; }
  /// Says QUIT (best effort, short timeout) and closes.
  void quit();

 private:
  SmtpClient() = default;
  bool write_all(const std::string& bytes, double timeout, std::string& error);
  bool read_reply(smtp::Reply& out, double timeout, std::string& error);
  bool command(const std::string& line, smtp::Reply& out, double timeout, std::string& error);
  bool ehlo(smtp::Reply& out, std::string& error);
  /// RSET after a refused transaction: true when the connection is clean for another.
  bool reset(std::string& error);
  bool start_tls(std::string& error);
  /// The MAIL command for a transaction (SIZE, BODY=8BITMIME and SMTPUTF8 as the message
  /// needs), or the reply that refuses it here: larger than the server's SIZE, or an
  /// internationalized address the server cannot take.
  std::string mail_command(const std::string& mail_from, const std::vector<std::string>& rcpts, const std::string& data,
                           std::optional<smtp::Reply>& refused) const;
  long raw_read(char* buf, std::size_t n, double deadline, std::string& error);

  std::unique_ptr<net::BlockingStream> conn_;
  std::string ip_, host_;
  ClientOptions options_;
  smtp::Capabilities caps_;
  std::string inbuf_;
  std::string presented_;  // commands of the next transaction already sent (see presented())
  bool usable_ = false;
  bool answered_ = false;
  int transactions_ = 0;
  double last_data_seconds_ = -1;
};

}  // namespace sesame::delivery
