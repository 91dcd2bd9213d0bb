// Logging: a thin face over spdlog so rooms log the same way. Never log secrets
// (secret keys, SMTP passwords, Authorization headers, private keys).
#pragma once

#include <spdlog/spdlog.h>

namespace sesame::base {
inline spdlog::logger& log() { return *spdlog::default_logger_raw(); }
}  // namespace sesame::base
