// SMTP replies (RFC 5321 §4.2): parsing a server's possibly multi-line reply from a byte
// buffer, with limits, and reading EHLO keywords. No I/O: the delivery client feeds it what
// it read, the fuzz target feeds it anything.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sesame::smtp {

struct Reply {
  int code = 0;                    // 200..599
  std::vector<std::string> lines;  // the text after "NNN-" / "NNN " of each line
  /// RFC 3463 enhanced status ("5.1.1") when the first line starts with one, else empty.
  std::string enhanced;
  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
  /// "550 5.1.1 user unknown" (lines joined with a space), as events report it.
  std::string text() const;
};

struct ReplyLimits {
  std::size_t max_line = 2048;  // RFC 5321 says 512; real servers exceed it
  std::size_t max_lines = 100;
};

enum class Parse { kIncomplete, kDone, kBad };

/// Parses one reply at the start of `buffer`. kDone: `out` is filled and `consumed` is the
/// number of bytes it used. kBad: `error` says why (the connection should be dropped).
Parse parse_reply(std::string_view buffer, Reply& out, std::size_t& consumed, std::string& error,
                  const ReplyLimits& limits = {});

/// EHLO keywords, upper-cased, with their parameters ("SIZE" → "35882577").
struct Capabilities {
  bool starttls = false, pipelining = false, eightbitmime = false, smtputf8 = false, enhanced = false;
  std::size_t size = 0;  // 0: not advertised or no limit
};
Capabilities parse_ehlo(const Reply& reply);

}  // namespace sesame::smtp
