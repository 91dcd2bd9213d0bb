// Clock: the injected source of time (tests use a fake), plus the timestamp formats SES
// puts on the wire: ISO 8601 UTC, SigV4's basic format, and the HTTP IMF-fixdate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sesame::base {

/// Seconds since the Unix epoch, with sub-second precision.
using EpochSeconds = double;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual EpochSeconds now() const = 0;
};

class SystemClock final : public Clock {
 public:
  EpochSeconds now() const override;
};

/// 2024-01-02T03:04:05.678Z (milliseconds always present).
std::string format_iso8601(EpochSeconds t);
/// Accepts 2024-01-02T03:04:05Z, fractional seconds, and +hh:mm / -hh:mm offsets.
std::optional<EpochSeconds> parse_iso8601(std::string_view text);
/// 20240102T030405Z, as in X-Amz-Date.
std::string format_amz_date(EpochSeconds t);
std::optional<EpochSeconds> parse_amz_date(std::string_view text);
/// Tue, 02 Jan 2024 03:04:05 GMT (RFC 9110 IMF-fixdate).
std::string format_http_date(EpochSeconds t);
std::optional<EpochSeconds> parse_http_date(std::string_view text);

}  // namespace sesame::base
