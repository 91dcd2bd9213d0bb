// Fuzz target: the SMTP DATA and BDAT readers (smtp/session). A fixed, valid prefix brings
// the session to DATA (or, by the first byte, into a BDAT chunk); the input is the message
// stream. Invariants: a delivered message ends with CRLF, has no bare CR or LF and no line
// over the limit, and DATA's end is found only at <CRLF>.<CRLF> (smuggling).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sesame::smtp;
  if (size < 3) return 0;  // at least one byte of message stream
  SessionOptions o;
  o.max_message_bytes = 8192;
  o.max_data_line = 100;
  Session s(o, Peer{"127.0.0.1", false, true, true});
  const bool bdat = data[0] & 1;
  const std::size_t step = 1 + (data[1] % 128);
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::string prefix = "EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\n";
  prefix += bdat ? "BDAT " + std::to_string(in.size()) + " LAST\r\n" : std::string("DATA\r\n");
  Step st = s.feed(prefix);
  // A BDAT chunk larger than the message limit is refused and the session closed.
  if (bdat && in.size() > o.max_message_bytes) {
    if (st.action != Action::kClose) __builtin_trap();
    return 0;
  }
  if (st.action != Action::kRead) __builtin_trap();
  while (!in.empty()) {
    std::string_view piece = in.substr(0, step);
    in.remove_prefix(piece.size());
    st = s.feed(piece);
    if (st.action == Action::kDeliver) {
      const std::string& m = s.message();
      if (m.size() > o.max_message_bytes) __builtin_trap();
      std::size_t line = 0;
      for (std::size_t i = 0; i < m.size(); ++i) {
        if (m[i] == '\r' && (i + 1 == m.size() || m[i + 1] != '\n')) __builtin_trap();
        if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) __builtin_trap();
        line = m[i] == '\n' ? 0 : line + 1;
        if (line > o.max_data_line) __builtin_trap();
      }
      if (!bdat && !m.empty() && m.size() >= 2 && m.compare(m.size() - 2, 2, "\r\n") != 0) __builtin_trap();
      s.delivered(Verdict{250, "", "Ok"});
      st = s.resume();
    }
    if (st.action == Action::kClose) break;
  }
  return 0;
}
