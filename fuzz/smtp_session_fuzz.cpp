// Fuzz target: the SMTP server session's command parser (smtp/session) fed a hostile
// client's bytes, split into reads at points chosen by the input. Actions are answered in
// turn (AUTH alternately accepted and refused, messages accepted), so every state is
// reachable. Invariants: no crash, bounded output and buffered message, and a closed
// session stays closed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sesame::smtp;
  if (size < 2) return 0;
  SessionOptions o;
  o.max_message_bytes = 4096;
  o.max_recipients = 5;
  o.max_command_line = 256;
  o.max_data_line = 200;
  const uint8_t flags = data[0];
  o.enhanced_status_codes = flags & 1;
  Peer peer{"192.0.2.1", bool(flags & 2), bool(flags & 4), bool(flags & 8)};
  Session s(o, peer);
  const std::size_t step = 1 + (data[1] % 64);
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  bool closed = false;
  int auth_turn = 0;
  while (!in.empty()) {
    std::string_view piece = in.substr(0, step);
    in.remove_prefix(piece.size());
    Step st = s.feed(piece);
    for (int guard = 0; guard < 1000; ++guard) {
      if (closed && !st.output.empty()) __builtin_trap();  // nothing after the end
      if (st.output.size() > 64 * 1024) __builtin_trap();
      if (st.action == Action::kRead) break;
      if (st.action == Action::kClose) {
        closed = true;
        break;
      }
      if (st.action == Action::kStartTls) s.tls_started();
      if (st.action == Action::kAuthenticate) s.auth_result((auth_turn++ % 2) ? AuthResult::kOk : AuthResult::kInvalid);
      if (st.action == Action::kDeliver) {
        if (s.message().size() > o.max_message_bytes || s.envelope().rcpt_to.empty() ||
            s.envelope().rcpt_to.size() > o.max_recipients)
          __builtin_trap();
        s.delivered(Verdict{250, "", "Ok id"});
      }
      st = s.resume();
    }
    if (closed) break;
  }
  return 0;
}
