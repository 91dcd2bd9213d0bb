// The SMTP server session as a state machine with no I/O (OpenSMTPD's shape, STYLE.md): it
// takes the bytes a client sent and returns the replies to write plus the one action the
// driver must perform (start TLS, check credentials, hand over a message, hang up). The
// same session runs over a socket (net/smtp_listener), in memory (golden dialogues) and
// in a fuzzer. Submission uses it now; inbound receiving will reuse it.
//
// RFC 5321 (commands, line limits §4.5.3.1, DATA and dot-unstuffing §4.5.2), RFC 1870
// SIZE, RFC 2920 PIPELINING, RFC 3207 STARTTLS (input buffered before the handshake is
// discarded), RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 2034 ENHANCEDSTATUSCODES, RFC 3030
// CHUNKING/BDAT, RFC 4954 AUTH PLAIN and LOGIN.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sesame::smtp {

struct SessionOptions {
  std::string hostname = "localhost";  // greeting and EHLO
  std::string greeting = "ESMTP Sesame";
  std::size_t max_message_bytes = 40u << 20;  // advertised by SIZE and enforced
  std::size_t max_recipients = 50;
  /// RFC 5321 §4.5.3.1.4 sets 512 as the minimum; AUTH lines carry base64 credentials.
  std::size_t max_command_line = 2048;
  /// RFC 5321 §4.5.3.1.6: 1,000 octets including CRLF (SES enforces it as well).
  std::size_t max_data_line = 1000;
  int max_errors = 10;         // then 421 and the connection ends
  int max_auth_failures = 3;   // per session; then 421
  int max_junk_commands = 100; // NOOP/RSET/VRFY/HELP without a MAIL in between; then 421
  bool starttls = true;        // the listener has a certificate: STARTTLS can be offered
  bool auth = true;            // AUTH PLAIN LOGIN is offered, once TLS is active
  bool smtputf8 = true;
  bool enhanced_status_codes = true;  // RFC 2034: advertised, and every reply carries one
  /// An inbound (MX-style) listener: any client may send, in clear text too, without AUTH;
  /// only recipients `accept_rcpt` agrees to are taken, so it is never a relay.
  bool inbound = false;
  std::function<bool(const std::string& address)> accept_rcpt;
};

/// Who is on the other end; set by the driver when the connection opens.
struct Peer {
  std::string ip;
  bool tls = false;          // implicit TLS (port 465) or after STARTTLS
  bool trusted = false;      // a trusted network: may submit without AUTH
  bool cleartext_ok = false; // may submit without TLS (loopback trusted networks)
};

struct Envelope {
  std::string helo;
  std::string mail_from;  // "" for the null reverse path <>
  std::vector<std::string> rcpt_to;
  bool smtputf8 = false;
  bool eight_bit = false;  // BODY=8BITMIME
  std::size_t declared_size = 0;
};

enum class Action {
  kRead,          // write `output`, then read more input and call feed()
  kStartTls,      // write `output`, do the TLS handshake, then call tls_started()
  kAuthenticate,  // write `output`, check credentials(), then call auth_result()
  kDeliver,       // write `output`, hand envelope() and message() over, then call delivered()
  kClose,         // write `output`, then close the connection
};

struct Step {
  std::string output;
  Action action = Action::kRead;
};

enum class AuthResult { kOk, kInvalid, kTemporary };

/// One reply as a backend states it; the session adds the enhanced code when enabled.
struct Verdict {
  int code = 250;
  std::string enhanced;  // "2.0.0"; may be empty (SES's "250 Ok <id>" carries none)
  std::string text;
};

class Session {
 public:
  Session(SessionOptions options, Peer peer);

  /// "220 <hostname> <greeting>".
  std::string greeting() const;
  /// Takes more input and runs until it needs more, or an action.
  Step feed(std::string_view bytes);
  /// Continues with input buffered behind a completed action (pipelined commands).
  Step resume();

  void tls_started();
  /// After kAuthenticate: the credentials the client gave.
  const std::string& username() const { return user_; }
  const std::string& password() const { return pass_; }
  void auth_result(AuthResult result);
  bool authenticated() const { return authenticated_; }

  /// After kDeliver: the transaction (the message is unstuffed, CRLF line ends).
  const Envelope& envelope() const { return env_; }
  std::string& message() { return message_; }
  /// The backend's answer for the transaction; a 2xx or not, the transaction ends.
  void delivered(const Verdict& verdict);

  /// Set by the driver while memory is short: new DATA/BDAT transactions get 452 4.3.1
  /// (transactions already receiving go on; each is bounded by max_message_bytes).
  void set_low_memory(bool low) { low_memory_ = low; }
  /// Bytes held for this session (input not yet consumed and the message being received).
  std::size_t buffered() const { return in_.size() + message_.size(); }
  /// Between transactions with nothing pending: the driver may end the session (shutdown).
  bool idle() const { return state_ == State::kCommand && !in_transaction_; }
  /// The reply for a shutdown or timeout, with the right enhanced code.
  std::string closing_reply(int code, const std::string& enhanced, const std::string& text) const;

 private:
  enum class State { kCommand, kData, kBdat, kAuthPlain, kAuthLoginUser, kAuthLoginPass, kWaiting, kClosed };

  Step run();
  void reply(int code, const char* enhanced, std::string_view text);
  void multiline(int code, const std::vector<std::string>& lines);
  bool error(int code, const char* enhanced, std::string_view text);  // false: session ends
  void reset_transaction();
  void command(std::string_view line);
  void cmd_ehlo(std::string_view arg, bool extended);
  void cmd_mail(std::string_view arg);
  void cmd_rcpt(std::string_view arg);
  void cmd_data(std::string_view arg);
  void cmd_bdat(std::string_view arg);
  void cmd_auth(std::string_view arg);
  void cmd_starttls(std::string_view arg);
  void auth_line(std::string_view line);
  bool auth_plain(std::string_view b64);
  void data_lines();
  void bdat_bytes();
  void scan_chunk(std::string_view chunk);
  void end_of_message();
  bool may_transact();

  SessionOptions o_;
  Peer peer_;
  State state_ = State::kCommand;
  std::string in_;
  std::size_t pos_ = 0;  // consumed prefix of in_
  std::string out_;
  Action action_ = Action::kRead;

  bool greeted_ = false, extended_ = false;
  bool authenticated_ = false;
  std::string user_, pass_;
  int errors_ = 0, auth_failures_ = 0, junk_ = 0;
  bool low_memory_ = false;

  // The transaction.
  bool in_transaction_ = false;
  Envelope env_;
  std::string message_;
  std::size_t data_bytes_ = 0;   // bytes received for the message (before limits)
  bool too_big_ = false, bad_line_end_ = false, long_line_ = false;
  bool line_start_ = true;       // the next data byte starts a line after a CRLF
  bool in_overlong_ = false;     // discarding the rest of an over-long data line
  std::size_t bdat_left_ = 0;
  bool bdat_last_ = false, bdat_failed_ = false, bdat_seen_ = false;
  bool prev_cr_ = false;         // BDAT content: the last byte was a CR
  std::size_t line_len_ = 0;     // BDAT content: length of the current line
  std::string out_pending_;      // a BDAT refusal, said once its chunk has been read
  bool discard_line_ = false;    // discarding the rest of an over-long command line
};

}  // namespace sesame::smtp
