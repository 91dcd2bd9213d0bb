#include "mime/virus.hpp"

#include <algorithm>
#include <functional>
#include <string>

#include "base/encoding.hpp"

namespace sesame::mime {
namespace {
// The EICAR Standard Anti-Virus Test File (68 bytes; eicar.org).
constexpr std::string_view kEicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// Boyer-Moore-Horspool: std::string_view::find compares at every occurrence of the
/// pattern's first character ('X'), which made a body of X's (smtp-source's filler, or a
/// hostile message) cost one memchr and one memcmp per byte.
bool contains_eicar(std::string_view s) {
  static const std::boyer_moore_horspool_searcher searcher(kEicar.begin(), kEicar.end());
  return std::search(s.begin(), s.end(), searcher) != s.end();
}

bool base64_line(std::string_view l) {
  if (l.empty() || l.size() > 998) return false;
  for (char c : l)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) return false;
  return true;
}

bool ci_starts(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(p[i]))) return false;
  return true;
}
}  // namespace

bool carries_test_virus(std::string_view m) {
  if (contains_eicar(m)) return true;
  // Every run of base64 lines that follows a header block announcing base64.
  bool pending = false;  // a base64 header was seen in the current header block
  bool in_body = false;
  std::string run;
  auto check_run = [&]() {
    if (run.empty()) return false;
    auto decoded = base::base64_decode(run);
    run.clear();
    return decoded && contains_eicar(*decoded);
  };
  std::size_t pos = 0;
  while (pos <= m.size()) {
    std::size_t eol = m.find('\n', pos);
    std::string_view line = m.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (in_body) {
      if (base64_line(line)) {
        run += line;
      } else {
        if (check_run()) return true;
        in_body = false;
      }
    }
    if (!in_body) {
      if (ci_starts(line, "content-transfer-encoding:") &&
          base::to_lower_ascii(line.substr(26)).find("base64") != std::string::npos)
        pending = true;
      if (line.empty() && pending) {
        in_body = true;
        pending = false;
      }
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return check_run();
}

}  // namespace sesame::mime
