// The SMTP server session state machine; see session.hpp. Each verb has a check step
// (sequence, TLS, AUTH, syntax) and a proceed step, as in OpenSMTPD.
#include "smtp/session.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>

#include "base/encoding.hpp"

namespace sesame::smtp {
namespace {

char upper(char c) { return (c >= 'a' && c <= 'z') ? char(c - 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return upper(x) == upper(y); });
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (upper(s[i]) != upper(prefix[i])) return false;
  return true;
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

/// RFC 5321 §4.1.2 Mailbox, leniently: a dot-atom or quoted local part, '@', and a domain
/// of letters, digits, hyphens and dots (or an address literal). UTF-8 is allowed here;
/// the caller decides whether SMTPUTF8 permits it.
bool valid_mailbox(std::string_view a) {
  if (a.size() > 254) return false;
  std::size_t at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size()) return false;
  std::string_view local = a.substr(0, at), domain = a.substr(at + 1);
  if (local.size() > 64) return false;
  if (local.front() == '"') {
    if (local.size() < 2 || local.back() != '"') return false;
    for (std::size_t i = 1; i + 1 < local.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(local[i]);
      if (c < 0x20 || c == 0x7f) return false;
      if (c == '\\') ++i;
    }
  } else {
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
    for (char ch : local) {
      unsigned char c = static_cast<unsigned char>(ch);
      if (c <= 0x20 || c == 0x7f || std::strchr("<>()[]\\,;:@\"", c)) return false;
    }
  }
  if (domain.front() == '[') {
    if (domain.back() != ']' || domain.size() < 3) return false;
    for (char c : domain.substr(1, domain.size() - 2))
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '-')) return false;
    return true;
  }
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos) return false;
  for (char ch : domain) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (!(std::isalnum(c) || c == '-' || c == '.' || c >= 0x80)) return false;
  }
  return true;
}

/// "<path> params" after "FROM:" / "TO:". Returns false on a syntax error; `address` is
/// the mailbox without brackets or source route ("" for <>).
bool split_path(std::string_view arg, std::string& address, std::string_view& params) {
  arg = trim_left(arg);
  if (arg.empty() || arg.front() != '<') return false;
  // The closing bracket, skipping quoted local parts.
  bool quoted = false;
  std::size_t close = std::string_view::npos;
  for (std::size_t i = 1; i < arg.size(); ++i) {
    if (quoted && arg[i] == '\\') {
      ++i;
      continue;
    }
    if (arg[i] == '"') quoted = !quoted;
    if (!quoted && arg[i] == '>') {
      close = i;
      break;
    }
  }
  if (close == std::string_view::npos) return false;
  std::string_view path = arg.substr(1, close - 1);
  // A source route (RFC 5321 §4.1.2 A-d-l) is accepted and ignored (Appendix C).
  if (!path.empty() && path.front() == '@') {
    std::size_t colon = path.find(':');
    if (colon == std::string_view::npos) return false;
    path.remove_prefix(colon + 1);
  }
  address.assign(path);
  params = arg.substr(close + 1);
  if (!params.empty() && params.front() != ' ') return false;
  params = trim_left(params);
  return true;
}

bool parse_size(std::string_view s, std::size_t& out) {
  if (s.empty() || s.size() > 15) return false;
  std::size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + std::size_t(c - '0');
  }
  out = v;
  return true;
}

}  // namespace

Session::Session(SessionOptions options, Peer peer) : o_(std::move(options)), peer_(std::move(peer)) {}

std::string Session::greeting() const { return "220 " + o_.hostname + " " + o_.greeting + "\r\n"; }

std::string Session::closing_reply(int code, const std::string& enhanced, const std::string& text) const {
  std::string r = std::to_string(code) + " ";
  if (o_.enhanced_status_codes && !enhanced.empty()) r += enhanced + " ";
  return r + text.substr(0, 500) + "\r\n";
}

void Session::reply(int code, const char* enhanced, std::string_view text) {
  out_ += std::to_string(code);
  out_ += ' ';
  if (o_.enhanced_status_codes && enhanced && *enhanced) {
    out_ += enhanced;
    out_ += ' ';
  }
  // One line of at most 512 octets (RFC 5321 §4.5.3.1.5), whatever the text echoes.
  std::size_t room = 500;
  for (char c : text) {
    if (room == 0) break;
    out_ += (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
    --room;
  }
  out_ += "\r\n";
}

void Session::multiline(int code, const std::vector<std::string>& lines) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out_ += std::to_string(code);
    out_ += (i + 1 == lines.size()) ? ' ' : '-';
    out_ += lines[i];
    out_ += "\r\n";
  }
}

bool Session::error(int code, const char* enhanced, std::string_view text) {
  reply(code, enhanced, text);
  if (++errors_ >= o_.max_errors) {
    reply(421, "4.7.0", o_.hostname + " Error: too many errors");
    state_ = State::kClosed;
    action_ = Action::kClose;
    return false;
  }
  return true;
}

void Session::reset_transaction() {
  in_transaction_ = false;
  std::string helo = std::move(env_.helo);
  env_ = Envelope{};
  env_.helo = std::move(helo);
  message_.clear();
  message_.shrink_to_fit();
  data_bytes_ = 0;
  too_big_ = bad_line_end_ = long_line_ = false;
  line_start_ = true;
  in_overlong_ = false;
  bdat_left_ = 0;
  bdat_last_ = bdat_failed_ = bdat_seen_ = false;
  prev_cr_ = false;
  line_len_ = 0;
}

Step Session::feed(std::string_view bytes) {
  in_.append(bytes);
  return run();
}

Step Session::resume() { return run(); }

Step Session::run() {
  if (state_ != State::kClosed && state_ != State::kWaiting) action_ = Action::kRead;
  while (action_ == Action::kRead && pos_ < in_.size()) {
    const std::size_t before = pos_;
    const State state_before = state_;
    if (state_ == State::kData) {
      data_lines();
    } else if (state_ == State::kBdat) {
      bdat_bytes();
    } else {
      const char* p = in_.data() + pos_;
      const std::size_t avail = in_.size() - pos_;
      const void* nl = std::memchr(p, '\n', avail);
      if (!nl) {
        if (avail > o_.max_command_line) {  // an over-long line: refuse once, skip to its end
          pos_ = in_.size();
          if (!discard_line_) {
            discard_line_ = true;
            error(500, "5.5.2", "Error: line too long");
          }
        }
        break;
      }
      const std::size_t len = static_cast<const char*>(nl) - p + 1;
      std::string_view line(p, len);
      pos_ += len;
      if (discard_line_) {
        discard_line_ = false;
        continue;
      }
      if (len > o_.max_command_line) {
        error(500, "5.5.2", "Error: line too long");
        continue;
      }
      // Commands end in CRLF (RFC 5321 §2.3.8): a bare LF or CR is refused, never guessed at.
      if (len < 2 || line[len - 2] != '\r') {
        error(500, "5.5.2", "Error: bare <LF> received; commands end with <CR><LF>");
        continue;
      }
      line.remove_suffix(2);
      if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
        error(500, "5.5.2", "Error: bare <CR> or NUL in command");
        continue;
      }
      if (state_ == State::kCommand) command(line);
      else auth_line(line);
    }
    if (pos_ == before && state_ == state_before) break;
  }
  if (pos_ >= in_.size()) {
    in_.clear();
    pos_ = 0;
  } else if (pos_ > (64u << 10)) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
  Step s{std::move(out_), action_};
  out_.clear();
  return s;
}

void Session::command(std::string_view line) {
  std::size_t sp = line.find(' ');
  std::string_view verb = line.substr(0, sp), arg = sp == std::string_view::npos ? std::string_view() : trim_left(line.substr(sp + 1));
  auto is = [&](const char* v) { return iequals(verb, v); };
  if ((is("NOOP") || is("RSET") || is("VRFY") || is("HELP")) && ++junk_ > o_.max_junk_commands) {
    // A client that keeps a connection busy without sending mail (Postfix's
    // smtpd_junk_command_limit): its slot goes to someone else.
    reply(421, "4.7.0", o_.hostname + " Error: too many commands without mail");
    state_ = State::kClosed;
    action_ = Action::kClose;
    return;
  }
  if (is("EHLO")) return cmd_ehlo(arg, true);
  if (is("HELO")) return cmd_ehlo(arg, false);
  if (is("MAIL")) return cmd_mail(arg);
  if (is("RCPT")) return cmd_rcpt(arg);
  if (is("DATA")) return cmd_data(arg);
  if (is("BDAT")) return cmd_bdat(arg);
  if (is("AUTH")) return cmd_auth(arg);
  if (is("STARTTLS")) return cmd_starttls(arg);
  if (is("RSET")) {
    if (!arg.empty()) return (void)error(501, "5.5.4", "Syntax: RSET");
    reset_transaction();
    return reply(250, "2.0.0", "Ok");
  }
  if (is("NOOP")) return reply(250, "2.0.0", "Ok");
  if (is("QUIT")) {
    reply(221, "2.0.0", "Bye");
    state_ = State::kClosed;
    action_ = Action::kClose;
    return;
  }
  if (is("VRFY")) return reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
  if (is("HELP")) return reply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT AUTH STARTTLS");
  // Another protocol talking to this port (cross-protocol attacks): hang up at once.
  if (is("GET") || is("POST") || is("HEAD") || is("PUT") || is("CONNECT")) {
    reply(421, "4.7.0", o_.hostname + " Error: this is an SMTP server");
    state_ = State::kClosed;
    action_ = Action::kClose;
    return;
  }
  if (is("EXPN") || is("ETRN") || is("TURN")) return (void)error(502, "5.5.1", "Error: command not implemented");
  error(500, "5.5.2", "Error: command not recognized");
}

void Session::cmd_ehlo(std::string_view arg, bool extended) {
  if (arg.empty()) return (void)error(501, "5.5.4", extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
  reset_transaction();  // RFC 5321 §4.1.4: EHLO resets the transaction
  greeted_ = true;
  extended_ = extended;
  env_.helo.assign(arg.substr(0, std::min<std::size_t>(arg.size(), 255)));
  if (!extended) return reply(250, nullptr, o_.hostname);
  std::vector<std::string> lines{o_.hostname, "PIPELINING", "SIZE " + std::to_string(o_.max_message_bytes)};
  if (o_.starttls && !peer_.tls) lines.emplace_back("STARTTLS");
  if (o_.auth && peer_.tls) lines.emplace_back("AUTH PLAIN LOGIN");
  if (o_.enhanced_status_codes) lines.emplace_back("ENHANCEDSTATUSCODES");
  lines.emplace_back("8BITMIME");
  lines.emplace_back("CHUNKING");
  if (o_.smtputf8) lines.emplace_back("SMTPUTF8");
  multiline(250, lines);
}

bool Session::may_transact() {
  // No open relay, ever: TLS first (except where the operator allowed clear text), then
  // AUTH (except trusted networks). Inbound listeners take mail from anyone, but only for
  // the recipients they serve (cmd_rcpt).
  if (o_.inbound) return true;
  if (!peer_.tls && !peer_.cleartext_ok) return error(530, "5.7.0", "Must issue a STARTTLS command first"), false;
  if (!authenticated_ && !peer_.trusted) return error(530, "5.7.0", "Authentication required"), false;
  return true;
}

void Session::cmd_mail(std::string_view arg) {
  if (!greeted_) return (void)error(503, "5.5.1", "Error: send HELO/EHLO first");
  if (in_transaction_) return (void)error(503, "5.5.1", "Error: nested MAIL command");
  if (!may_transact()) return;
  if (!istarts_with(arg, "FROM:")) return (void)error(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  std::string address;
  std::string_view params;
  if (!split_path(arg.substr(5), address, params)) return (void)error(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  if (!address.empty() && !valid_mailbox(address)) return (void)error(553, "5.1.7", "<" + address + "> Invalid email address");
  Envelope e;
  e.helo = env_.helo;
  while (!params.empty()) {
    std::size_t sp = params.find(' ');
    std::string_view p = params.substr(0, sp);
    params = sp == std::string_view::npos ? std::string_view() : trim_left(params.substr(sp + 1));
    if (!extended_) return (void)error(555, "5.5.4", "Error: parameters need EHLO");
    std::size_t eq = p.find('=');
    std::string_view key = p.substr(0, eq), value = eq == std::string_view::npos ? std::string_view() : p.substr(eq + 1);
    if (iequals(key, "SIZE")) {
      if (!parse_size(value, e.declared_size)) return (void)error(501, "5.5.4", "Error: bad SIZE parameter");
      if (e.declared_size > o_.max_message_bytes) return (void)error(552, "5.3.4", "Message size exceeds fixed maximum message size");
    } else if (iequals(key, "BODY")) {
      if (iequals(value, "8BITMIME")) e.eight_bit = true;
      else if (!iequals(value, "7BIT")) return (void)error(501, "5.5.4", "Error: unsupported BODY parameter");
    } else if (iequals(key, "SMTPUTF8") && o_.smtputf8 && value.empty()) {
      e.smtputf8 = true;
    } else if (iequals(key, "AUTH")) {
      // RFC 4954 §5: the AUTH parameter may be ignored.
    } else {
      return (void)error(555, "5.5.4", "Error: unsupported parameter " + std::string(key.substr(0, 64)));
    }
  }
  if (!base::is_ascii(address) && !e.smtputf8) return (void)error(553, "5.6.7", "<" + address + "> needs SMTPUTF8");
  e.mail_from = std::move(address);
  env_ = std::move(e);
  in_transaction_ = true;
  junk_ = 0;
  reply(250, "2.1.0", "Ok");
}

void Session::cmd_rcpt(std::string_view arg) {
  if (!in_transaction_) return (void)error(503, "5.5.1", "Error: need MAIL command");
  if (!istarts_with(arg, "TO:")) return (void)error(501, "5.5.4", "Syntax: RCPT TO:<address>");
  std::string address;
  std::string_view params;
  if (!split_path(arg.substr(3), address, params)) return (void)error(501, "5.5.4", "Syntax: RCPT TO:<address>");
  if (!valid_mailbox(address) && !iequals(address, "postmaster"))  // RFC 5321 §4.5.1
    return (void)error(553, "5.1.3", "<" + address + "> address unknown");
  if (!base::is_ascii(address) && !env_.smtputf8) return (void)error(553, "5.6.7", "<" + address + "> needs SMTPUTF8");
  if (!params.empty()) return (void)error(555, "5.5.4", "Error: unsupported RCPT parameter");
  // RFC 5321 §4.5.3.1.10: "too many recipients" is 452, and not an error of the client.
  if (env_.rcpt_to.size() >= o_.max_recipients) return reply(452, "4.5.3", "Error: too many recipients");
  if (o_.inbound && !(o_.accept_rcpt && o_.accept_rcpt(address)))
    return (void)error(550, "5.7.1", "<" + address + ">: Relay access denied");
  env_.rcpt_to.push_back(std::move(address));
  reply(250, "2.1.5", "Ok");
}

void Session::cmd_data(std::string_view arg) {
  if (!arg.empty()) return (void)error(501, "5.5.4", "Syntax: DATA");
  if (!in_transaction_) return (void)error(503, "5.5.1", "Error: need MAIL command");
  if (env_.rcpt_to.empty()) return (void)error(554, "5.5.1", "Error: no valid recipients");
  if (bdat_seen_) return (void)error(503, "5.5.1", "Error: DATA after BDAT");
  if (low_memory_) {
    reset_transaction();
    return reply(452, "4.3.1", "Insufficient system storage, try again later");
  }
  reply(354, nullptr, "End data with <CR><LF>.<CR><LF>");
  state_ = State::kData;
  line_start_ = true;
  in_overlong_ = false;
}

void Session::data_lines() {
  while (pos_ < in_.size()) {
    const char* p = in_.data() + pos_;
    const std::size_t avail = in_.size() - pos_;
    const void* nl = std::memchr(p, '\n', avail);
    if (!nl) {
      // A partial line: keep at most one line's worth. The last byte stays (it may be the
      // CR of a CRLF); the line is too long anyway and the message will be refused.
      if (avail > o_.max_data_line) {
        long_line_ = in_overlong_ = true;
        data_bytes_ += avail - 1;
        pos_ += avail - 1;
      }
      return;
    }
    const std::size_t len = static_cast<const char*>(nl) - p + 1;
    std::string_view line(p, len);
    pos_ += len;
    const bool crlf = len >= 2 && line[len - 2] == '\r';
    const bool at_start = line_start_ && !in_overlong_;
    // Only <CRLF>.<CRLF> ends the data (RFC 5321 §4.1.1.4). A dot after a bare LF, or a
    // dot followed by a bare LF, is content: ending there is what SMTP smuggling exploits.
    if (at_start && line == ".\r\n") return end_of_message();
    if (!crlf || std::memchr(p, '\r', crlf ? len - 2 : len - 1)) {
      // A bare CR or LF: this client's idea of the end of data differs from ours, so no
      // later byte can be trusted to be data or a command. Refuse and hang up, as Postfix
      // does (smtpd_forbid_bare_newline); the message is never delivered.
      reply(521, "5.5.2", o_.hostname + " Error: bare <CR> or <LF> received; lines must end with <CR><LF>");
      reset_transaction();
      state_ = State::kClosed;
      action_ = Action::kClose;
      return;
    }
    if (in_overlong_ || len > o_.max_data_line) long_line_ = true;
    in_overlong_ = false;
    line_start_ = crlf;
    data_bytes_ += len;
    if (data_bytes_ > o_.max_message_bytes) too_big_ = true;
    if (too_big_ || long_line_ || bad_line_end_) continue;  // refused at the end; keep reading
    if (at_start && line.front() == '.') line.remove_prefix(1);  // RFC 5321 §4.5.2
    message_.append(line);
  }
}

void Session::end_of_message() {
  state_ = State::kCommand;
  if (too_big_) {
    reply(552, "5.3.4", "Message is too long.");
  } else if (bad_line_end_) {  // BDAT content (length-framed, so the session goes on)
    reply(554, "5.6.0", "Message contains a bare <CR> or <LF>; lines must end with <CR><LF>");
  } else if (long_line_) {
    reply(554, "5.6.0", "Message has a line longer than " + std::to_string(o_.max_data_line) + " characters");
  } else {
    state_ = State::kWaiting;
    action_ = Action::kDeliver;
    return;
  }
  reset_transaction();
}

void Session::delivered(const Verdict& v) {
  reply(v.code, v.enhanced.c_str(), v.text);
  reset_transaction();
  state_ = State::kCommand;
  action_ = Action::kRead;
}

void Session::cmd_bdat(std::string_view arg) {
  std::size_t sp = arg.find(' ');
  std::string_view size_text = arg.substr(0, sp), rest = sp == std::string_view::npos ? std::string_view() : trim_left(arg.substr(sp + 1));
  std::size_t size = 0;
  const bool last = iequals(rest, "LAST");
  if (!parse_size(size_text, size) || (!rest.empty() && !last)) {
    // The chunk's length is unknown, so the byte stream cannot be followed: hang up.
    reply(501, "5.5.4", "Syntax: BDAT size [LAST]");
    reply(421, "4.7.0", o_.hostname + " closing: cannot resynchronize after a bad BDAT");
    state_ = State::kClosed;
    action_ = Action::kClose;
    return;
  }
  if (size > o_.max_message_bytes) {
    reply(552, "5.3.4", "Message is too long.");
    reply(421, "4.7.0", o_.hostname + " closing: chunk larger than the message size limit");
    state_ = State::kClosed;
    action_ = Action::kClose;
    return;
  }
  // The chunk is read in every case (RFC 3030 §3); a refusal is said after it.
  bdat_failed_ = false;
  if (!in_transaction_) {
    bdat_failed_ = true;
    ++errors_;
    out_pending_ = closing_reply(503, "5.5.1", "Error: need MAIL command");
  } else if (low_memory_ && !bdat_seen_) {
    reset_transaction();  // first: it clears bdat_failed_
    bdat_failed_ = true;
    out_pending_ = closing_reply(452, "4.3.1", "Insufficient system storage, try again later");
  } else if (env_.rcpt_to.empty()) {
    bdat_failed_ = true;
    ++errors_;
    out_pending_ = closing_reply(554, "5.5.1", "Error: no valid recipients");
  }
  if (in_transaction_) bdat_seen_ = true;
  bdat_left_ = size;
  bdat_last_ = last;
  state_ = State::kBdat;
  if (size == 0) bdat_bytes();
}

void Session::scan_chunk(std::string_view chunk) {
  for (char c : chunk) {
    if (prev_cr_ && c != '\n') bad_line_end_ = true;
    if (c == '\n') {
      if (!prev_cr_) bad_line_end_ = true;
      line_len_ = 0;
    } else if (++line_len_ > o_.max_data_line - 1) {
      long_line_ = true;
    }
    prev_cr_ = c == '\r';
  }
}

void Session::bdat_bytes() {
  const std::size_t take = std::min(bdat_left_, in_.size() - pos_);
  if (!bdat_failed_) {
    data_bytes_ += take;
    if (data_bytes_ > o_.max_message_bytes) too_big_ = true;
    if (!too_big_) {
      std::string_view chunk(in_.data() + pos_, take);
      scan_chunk(chunk);
      message_.append(chunk);
    }
  }
  pos_ += take;
  bdat_left_ -= take;
  if (bdat_left_ > 0) return;
  state_ = State::kCommand;
  if (bdat_failed_) {
    out_ += out_pending_;
    out_pending_.clear();
    bdat_failed_ = false;
    if (errors_ >= o_.max_errors) {
      reply(421, "4.7.0", o_.hostname + " Error: too many errors");
      state_ = State::kClosed;
      action_ = Action::kClose;
    }
    return;
  }
  if (too_big_) {
    reply(552, "5.3.4", "Message is too long.");
    return reset_transaction();
  }
  if (!bdat_last_) return reply(250, "2.0.0", std::to_string(data_bytes_) + " octets received");
  if (prev_cr_) bad_line_end_ = true;
  end_of_message();
}

void Session::cmd_auth(std::string_view arg) {
  if (!o_.auth) return (void)error(503, "5.5.1", "Error: authentication not enabled");
  if (!peer_.tls) return (void)error(530, "5.7.0", "Must issue a STARTTLS command first");
  if (!extended_) return (void)error(503, "5.5.1", "Error: send EHLO first");
  if (authenticated_) return (void)error(503, "5.5.1", "Error: already authenticated");
  if (in_transaction_) return (void)error(503, "5.5.1", "Error: MAIL transaction in progress");
  std::size_t sp = arg.find(' ');
  std::string_view mech = arg.substr(0, sp), initial = sp == std::string_view::npos ? std::string_view() : trim_left(arg.substr(sp + 1));
  if (iequals(mech, "PLAIN")) {
    if (initial.empty()) {
      state_ = State::kAuthPlain;
      return reply(334, nullptr, "");
    }
    auth_plain(initial);
    return;
  }
  if (iequals(mech, "LOGIN")) {
    if (initial.empty()) {
      state_ = State::kAuthLoginUser;
      return reply(334, nullptr, "VXNlcm5hbWU6");  // "Username:"
    }
    state_ = State::kAuthLoginUser;
    auth_line(initial);
    return;
  }
  error(504, "5.5.4", "Error: unrecognized authentication type");
}

bool Session::auth_plain(std::string_view b64) {
  std::optional<std::string> decoded = b64 == "=" ? std::optional<std::string>("") : base::base64_decode(b64);
  state_ = State::kCommand;
  if (!decoded) return error(501, "5.5.2", "Error: cannot decode response");
  // authzid NUL authcid NUL passwd (RFC 4616 §2); authzid empty or the same user.
  std::size_t a = decoded->find('\0');
  std::size_t b = a == std::string::npos ? a : decoded->find('\0', a + 1);
  if (b == std::string::npos || decoded->find('\0', b + 1) != std::string::npos)
    return error(501, "5.5.2", "Error: malformed PLAIN response");
  std::string authzid = decoded->substr(0, a);
  user_ = decoded->substr(a + 1, b - a - 1);
  pass_ = decoded->substr(b + 1);
  std::fill(decoded->begin(), decoded->end(), '\0');
  if (!authzid.empty() && authzid != user_) {
    auth_result(AuthResult::kInvalid);
    return false;
  }
  state_ = State::kWaiting;
  action_ = Action::kAuthenticate;
  return true;
}

void Session::auth_line(std::string_view line) {
  if (line == "*") {
    state_ = State::kCommand;
    user_.clear();
    error(501, "5.0.0", "Authentication cancelled");
    return;
  }
  if (state_ == State::kAuthPlain) return (void)auth_plain(line);
  auto decoded = base::base64_decode(line);
  if (!decoded) {
    state_ = State::kCommand;
    user_.clear();
    error(501, "5.5.2", "Error: cannot decode response");
    return;
  }
  if (state_ == State::kAuthLoginUser) {
    user_ = std::move(*decoded);
    state_ = State::kAuthLoginPass;
    return reply(334, nullptr, "UGFzc3dvcmQ6");  // "Password:"
  }
  pass_ = std::move(*decoded);
  state_ = State::kWaiting;
  action_ = Action::kAuthenticate;
}

void Session::auth_result(AuthResult result) {
  state_ = State::kCommand;
  action_ = Action::kRead;
  // The password is dropped after its check (best effort: copies made by the driver and
  // the base64 text in the input buffer are not wiped).
  std::fill(pass_.begin(), pass_.end(), '\0');
  pass_.clear();
  switch (result) {
    case AuthResult::kOk:
      authenticated_ = true;
      reply(235, "2.7.0", "Authentication successful");
      break;
    case AuthResult::kTemporary:
      reply(454, "4.7.0", "Temporary authentication failure");
      break;
    case AuthResult::kInvalid:
      if (++auth_failures_ >= o_.max_auth_failures) {
        reply(535, "5.7.8", "Authentication Credentials Invalid");
        reply(421, "4.7.0", o_.hostname + " Error: too many authentication failures");
        state_ = State::kClosed;
        action_ = Action::kClose;
        return;
      }
      error(535, "5.7.8", "Authentication Credentials Invalid");
      break;
  }
}

void Session::cmd_starttls(std::string_view arg) {
  if (peer_.tls) return (void)error(503, "5.5.1", "Error: TLS already active");
  if (!o_.starttls) return (void)error(502, "5.5.1", "Error: command not implemented");
  if (!arg.empty()) return (void)error(501, "5.5.4", "Syntax: STARTTLS");
  reply(220, "2.0.0", "Ready to start TLS");
  // RFC 3207 §4.2 / CVE-2011-0411: whatever the client sent after STARTTLS in clear text
  // must not be executed inside the TLS session.
  in_.clear();
  pos_ = 0;
  state_ = State::kWaiting;
  action_ = Action::kStartTls;
}

void Session::tls_started() {
  peer_.tls = true;
  greeted_ = extended_ = false;
  authenticated_ = false;
  reset_transaction();
  env_.helo.clear();
  in_.clear();
  pos_ = 0;
  state_ = State::kCommand;
  action_ = Action::kRead;
}

}  // namespace sesame::smtp
