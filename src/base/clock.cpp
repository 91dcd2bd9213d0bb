// Timestamp formats; all arithmetic is in UTC through timegm/gmtime_r.
#include "base/clock.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace sesame::base {
namespace {
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}
std::optional<EpochSeconds> from_fields(int y, int mo, int d, int h, int mi, int s) {
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<EpochSeconds>(timegm(&tm));
}
std::tm to_tm(EpochSeconds t) {
  // Clamp to years 1970..9999: the wire formats have four-digit years, and the cast below
  // must stay in range whatever value reaches it.
  if (!(t >= 0)) t = 0;
  if (t > 253402300799.0) t = 253402300799.0;
  std::time_t secs = static_cast<std::time_t>(std::floor(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
}  // namespace

EpochSeconds SystemClock::now() const {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string format_iso8601(EpochSeconds t) {
  std::tm tm = to_tm(t);
  int ms = static_cast<int>(std::llround((t - std::floor(t)) * 1000.0));
  if (ms >= 1000) ms = 999;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::optional<EpochSeconds> parse_iso8601(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
    return std::nullopt;
  auto base = from_fields(y, mo, d, h, mi, sec);
  if (!base) return std::nullopt;
  std::size_t i = 19;
  double frac = 0;
  if (i < s.size() && s[i] == '.') {
    double scale = 0.1;
    ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      frac += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  if (i == s.size()) return *base + frac;  // no zone: UTC, as botocore assumes
  if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) return *base + frac;
  if ((s[i] == '+' || s[i] == '-') && s.size() == i + 6 && s[i + 3] == ':') {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || !digits(s, i + 4, 2, om)) return std::nullopt;
    double off = oh * 3600.0 + om * 60.0;
    return *base + frac - (s[i] == '+' ? off : -off);
  }
  return std::nullopt;
}

std::string format_amz_date(EpochSeconds t) {
  std::tm tm = to_tm(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<EpochSeconds> parse_amz_date(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (s.size() != 16 || !digits(s, 0, 4, y) || !digits(s, 4, 2, mo) || !digits(s, 6, 2, d) || s[8] != 'T' ||
      !digits(s, 9, 2, h) || !digits(s, 11, 2, mi) || !digits(s, 13, 2, sec) || s[15] != 'Z')
    return std::nullopt;
  return from_fields(y, mo, d, h, mi, sec);
}

std::string format_http_date(EpochSeconds t) {
  std::tm tm = to_tm(t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<EpochSeconds> parse_http_date(std::string_view s) {
  // "Tue, 02 Jan 2024 03:04:05 GMT"
  if (s.size() != 29 || s.substr(25) != " GMT") return std::nullopt;
  int d, y, h, mi, sec;
  if (!digits(s, 5, 2, d) || !digits(s, 12, 4, y) || !digits(s, 17, 2, h) || !digits(s, 20, 2, mi) ||
      !digits(s, 23, 2, sec))
    return std::nullopt;
  std::string_view mon = s.substr(8, 3);
  for (int m = 0; m < 12; ++m)
    if (mon == kMonths[m]) return from_fields(y, m + 1, d, h, mi, sec);
  return std::nullopt;
}

}  // namespace sesame::base
