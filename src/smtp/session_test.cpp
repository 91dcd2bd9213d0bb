// The SMTP session state machine, driven in memory: golden dialogues from
// tests/smtp/dialogues (NAME.in → NAME.out) and a few direct checks.
//
// NAME.in: "#! option ..." lines set SessionOptions/Peer; "# ..." lines are comments; every
// other line is client input with escapes (\r \n \t \0 \\ \xNN) and gets CRLF appended
// unless it ends in "\c". Input is fed in one chunk up to each "--" line (so a chunk of
// several commands is a pipelined group). "@auth ok|invalid|temp" and "@deliver CODE
// [ENHANCED] TEXT" answer the session's pending action; STARTTLS is completed by itself.
// NAME.out: the server's replies (CRLF shown as a line end) and the actions, in brackets.
// SESAME_GOLDEN_UPDATE=1 rewrites the .out files (review the diff before committing).
#include "smtp/session.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sesame::smtp {
namespace {
namespace fs = std::filesystem;

std::string unescape(const std::string& s, bool& newline) {
  std::string out;
  newline = true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char e = s[++i];
    switch (e) {
      case 'r': out.push_back('\r'); break;
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case '0': out.push_back('\0'); break;
      case '\\': out.push_back('\\'); break;
      case 'c': newline = false; break;
      case 'x':
        out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
        i += 2;
        break;
      case 'R': {  // \R{N:c}: the character c repeated N times
        std::size_t close = s.find('}', i);
        std::size_t colon = s.find(':', i);
        out.append(std::stoul(s.substr(i + 2, colon - i - 2)), s[colon + 1]);
        i = close;
        break;
      }
      default: out.push_back('\\'); out.push_back(e);
    }
  }
  return out;
}

/// Shows server output with CRLF as line ends and anything else unprintable escaped.
std::string show(const std::string& bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (c == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') {
      out += '\n';
      ++i;
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

struct Item {
  enum Kind { kChunk, kAuth, kDeliver } kind;
  std::string text;
};

std::string run_dialogue(const fs::path& in_path) {
  std::ifstream in(in_path, std::ios::binary);
  SessionOptions o;
  o.hostname = "mx.test";
  Peer peer{"192.0.2.1"};
  std::vector<Item> items;
  std::string chunk;
  std::string line;
  auto flush = [&] {
    if (!chunk.empty()) items.push_back({Item::kChunk, chunk});
    chunk.clear();
  };
  while (std::getline(in, line)) {
    if (line.rfind("#!", 0) == 0) {
      std::istringstream opts(line.substr(2));
      std::string w;
      while (opts >> w) {
        auto eq = w.find('=');
        std::string k = w.substr(0, eq), v = eq == std::string::npos ? "" : w.substr(eq + 1);
        if (k == "tls") peer.tls = true;
        else if (k == "trusted") peer.trusted = true;
        else if (k == "cleartext") peer.cleartext_ok = true;
        else if (k == "noenhanced") o.enhanced_status_codes = false;
        else if (k == "nostarttls") o.starttls = false;
        else if (k == "noauth") o.auth = false;
        else if (k == "nosmtputf8") o.smtputf8 = false;
        else if (k == "max_message_bytes") o.max_message_bytes = std::stoul(v);
        else if (k == "max_recipients") o.max_recipients = std::stoul(v);
        else if (k == "max_errors") o.max_errors = std::stoi(v);
        else if (k == "max_data_line") o.max_data_line = std::stoul(v);
        else if (k == "max_command_line") o.max_command_line = std::stoul(v);
        else if (k == "max_junk_commands") o.max_junk_commands = std::stoi(v);
        else ADD_FAILURE() << in_path << ": unknown option " << k;
      }
      continue;
    }
    if (line.rfind("#", 0) == 0) continue;
    if (line == "--") {
      flush();
      continue;
    }
    if (line.rfind("@auth ", 0) == 0) {
      flush();
      items.push_back({Item::kAuth, line.substr(6)});
      continue;
    }
    if (line.rfind("@deliver ", 0) == 0) {
      flush();
      items.push_back({Item::kDeliver, line.substr(9)});
      continue;
    }
    bool newline = true;
    chunk += unescape(line, newline);
    if (newline) chunk += "\r\n";
  }
  flush();

  Session s(o, peer);
  std::string t = show(s.greeting());
  Step step;
  auto take = [&](Step st) {
    t += show(st.output);
    for (;;) {
      if (st.action == Action::kStartTls) {
        t += "[starttls]\n";
        s.tls_started();
        st = s.resume();
        t += show(st.output);
        continue;
      }
      break;
    }
    step = st;
    if (st.action == Action::kAuthenticate) t += "[auth user=" + show(s.username()) + " pass=" + show(s.password()) + "]\n";
    if (st.action == Action::kDeliver) {
      const Envelope& e = s.envelope();
      t += "[deliver from=<" + e.mail_from + "> to=";
      for (std::size_t i = 0; i < e.rcpt_to.size(); ++i) t += (i ? ",<" : "<") + e.rcpt_to[i] + ">";
      if (e.smtputf8) t += " smtputf8";
      if (e.eight_bit) t += " 8bitmime";
      t += " bytes=" + std::to_string(s.message().size()) + "]\n";
      std::string shown = show(s.message());
      std::istringstream lines(shown);
      std::string l;
      while (std::getline(lines, l)) t += "| " + l + "\n";
    }
    if (st.action == Action::kClose) t += "[close]\n";
  };
  for (const auto& item : items) {
    if (step.action == Action::kClose) {
      t += "[input after close ignored]\n";
      break;
    }
    if (item.kind == Item::kChunk) {
      if (step.action != Action::kRead) {
        t += "[error: input while an action is pending]\n";
        break;
      }
      take(s.feed(item.text));
    } else if (item.kind == Item::kAuth) {
      if (step.action != Action::kAuthenticate) {
        t += "[error: @auth with no authentication pending]\n";
        break;
      }
      s.auth_result(item.text == "ok" ? AuthResult::kOk : item.text == "temp" ? AuthResult::kTemporary : AuthResult::kInvalid);
      take(s.resume());
    } else {
      if (step.action != Action::kDeliver) {
        t += "[error: @deliver with no message pending]\n";
        break;
      }
      Verdict v;
      std::istringstream words(item.text);
      words >> v.code;
      std::string rest;
      std::getline(words, rest);
      rest = rest.substr(rest.find_first_not_of(' '));
      if (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0])) && rest.size() > 5 && rest[1] == '.') {
        v.enhanced = rest.substr(0, rest.find(' '));
        rest = rest.substr(v.enhanced.size() + 1);
      }
      v.text = rest;
      s.delivered(v);
      take(s.resume());
    }
  }
  if (step.action == Action::kRead) t += "[waiting for input]\n";
  return t;
}

TEST(SessionGolden, Dialogues) {
  const fs::path dir = SESAME_DIALOGUES_DIR;
  std::vector<fs::path> inputs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".in") inputs.push_back(e.path());
  std::sort(inputs.begin(), inputs.end());
  ASSERT_GE(inputs.size(), 20u) << "the golden dialogue set went missing";
  const bool update = std::getenv("SESAME_GOLDEN_UPDATE") != nullptr;
  for (const auto& in : inputs) {
    SCOPED_TRACE(in.filename().string());
    std::string got = run_dialogue(in);
    fs::path out = in;
    out.replace_extension(".out");
    if (update) {
      std::ofstream(out, std::ios::binary) << got;
      continue;
    }
    std::ifstream f(out, std::ios::binary);
    ASSERT_TRUE(f.good()) << "missing " << out;
    std::stringstream want;
    want << f.rdbuf();
    EXPECT_EQ(want.str(), got) << "dialogue " << in.filename();
  }
}

TEST(Session, ByteAtATimeMatchesOneChunk) {
  // The same input, fed one byte at a time, gives the same replies and message: the state
  // machine does not depend on how TCP splits the stream.
  const std::string input =
      "EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
      "Subject: x\r\n\r\n..dot\r\nline\r\n.\r\n";
  auto run = [&](bool bytewise, std::string& message) {
    Session s(SessionOptions{}, Peer{"127.0.0.1", true, true, true});
    std::string out;
    if (bytewise) {
      for (char c : input) {
        Step st = s.feed(std::string_view(&c, 1));
        out += st.output;
        if (st.action == Action::kDeliver) message = s.message();
      }
    } else {
      Step st = s.feed(input);
      out += st.output;
      if (st.action == Action::kDeliver) message = s.message();
    }
    return out;
  };
  std::string m1, m2;
  EXPECT_EQ(run(false, m1), run(true, m2));
  EXPECT_EQ(m1, "Subject: x\r\n\r\n.dot\r\nline\r\n");
  EXPECT_EQ(m1, m2);
}

TEST(Session, SmugglingInputsByteAtATimeNeverDeliver) {
  // Every smuggling variant, however TCP splits it, ends in 521 and a close: never a
  // delivered message, never a reply to a smuggled command.
  const std::string head = "EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: x\r\n\r\nbody";
  const std::string tail = "MAIL FROM:<evil@example.com>\r\nRCPT TO:<v@example.net>\r\nDATA\r\nsmuggled\r\n.\r\n";
  for (const std::string sep : {"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r\n.\r", "\r.\r\n"}) {
    for (std::size_t step : {std::size_t(1), std::size_t(2), std::size_t(7), std::size_t(1000)}) {
      Session s(SessionOptions{}, Peer{"127.0.0.1", false, true, true});
      const std::string input = head + sep + tail;
      std::string out;
      Action last = Action::kRead;
      for (std::size_t i = 0; i < input.size() && last == Action::kRead; i += step) {
        Step st = s.feed(std::string_view(input).substr(i, step));
        out += st.output;
        last = st.action;
        ASSERT_NE(st.action, Action::kDeliver) << "separator " << testing::PrintToString(sep) << " step " << step;
      }
      EXPECT_EQ(last, Action::kClose) << testing::PrintToString(sep) << " step " << step;
      EXPECT_NE(out.find("521 5.5.2"), std::string::npos) << out;
      EXPECT_EQ(out.find("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354", out.find("354") + 1), std::string::npos) << out;
    }
  }
}

TEST(Session, LowMemoryRefusesNewMessagesOnly) {
  Session s(SessionOptions{}, Peer{"127.0.0.1", false, true, true});
  Step st = s.feed("EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
  EXPECT_NE(st.output.find("354"), std::string::npos);
  s.set_low_memory(true);  // a transaction already receiving goes on
  st = s.feed("Subject: x\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(st.action, Action::kDeliver);
  s.delivered(Verdict{250, "", "Ok id"});
  st = s.feed("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
  EXPECT_NE(st.output.find("452 4.3.1 Insufficient system storage"), std::string::npos) << st.output;
  // BDAT: the chunk is read, then refused; nothing is delivered.
  st = s.feed("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nBDAT 5 LAST\r\nhello");
  EXPECT_NE(st.output.find("452 4.3.1 Insufficient system storage"), std::string::npos) << st.output;
  EXPECT_EQ(st.action, Action::kRead);
  st = s.feed("NOOP\r\n");
  EXPECT_EQ(st.output, "250 2.0.0 Ok\r\n");
  s.set_low_memory(false);
  st = s.feed("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
  EXPECT_NE(st.output.find("354"), std::string::npos) << st.output;
}

TEST(Session, InboundTakesAnyoneButOnlyItsRecipients) {
  SessionOptions o;
  o.inbound = true;
  o.auth = false;
  o.accept_rcpt = [](const std::string& a) { return a.find("@bounces.test") != std::string::npos; };
  Session s(o, Peer{"203.0.113.9"});  // not trusted, no TLS, no AUTH
  Step st = s.feed("EHLO mx.remote\r\n");
  EXPECT_EQ(st.output.find("AUTH"), std::string::npos) << st.output;
  st = s.feed("MAIL FROM:<>\r\nRCPT TO:<victim@example.org>\r\nRCPT TO:<id@bounces.test>\r\nDATA\r\n");
  EXPECT_NE(st.output.find("550 5.7.1 <victim@example.org>: Relay access denied"), std::string::npos) << st.output;
  EXPECT_NE(st.output.find("354"), std::string::npos) << st.output;
  st = s.feed("Subject: x\r\n\r\nbody\r\n.\r\n");
  ASSERT_EQ(st.action, Action::kDeliver);
  EXPECT_EQ(s.envelope().rcpt_to, (std::vector<std::string>{"id@bounces.test"}));
  // Without the option the same client must authenticate first.
  Session plain(SessionOptions{}, Peer{"203.0.113.9", true});
  st = plain.feed("EHLO c\r\nMAIL FROM:<>\r\n");
  EXPECT_NE(st.output.find("530 5.7.0 Authentication required"), std::string::npos) << st.output;
}

TEST(Session, BoundedBufferUnderEndlessLine) {
  // A client sending a line without end is answered once and its bytes are dropped.
  Session s(SessionOptions{}, Peer{"192.0.2.9"});
  std::string junk(100000, 'A');
  Step st = s.feed(junk);
  EXPECT_NE(st.output.find("500 5.5.2"), std::string::npos);
  for (int i = 0; i < 100; ++i) {
    st = s.feed(junk);
    EXPECT_EQ(st.output, "");
  }
  st = s.feed("\r\nNOOP\r\n");
  EXPECT_EQ(st.output, "250 2.0.0 Ok\r\n");
}

}  // namespace
}  // namespace sesame::smtp
