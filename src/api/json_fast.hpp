// A fast path for parsing JSON request bodies into nlohmann::json. nlohmann's lexer reads a
// byte at a time and appends each to a token buffer, which dominates the decoding of a
// message body in SendEmail (a 5 KB string costs about 50 us). This parser copies runs of
// plain characters at once. It is deliberately partial: whatever it is not sure to read
// exactly as nlohmann would (fractions, exponents, long numbers, surrogate escapes, any
// error) makes it give up, and the caller parses with nlohmann, so results and error
// messages stay nlohmann's. The fuzz target json_fast checks the two agree.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace sesame::api {

/// The JSON value `text` holds, or nothing when the fast path gives up (invalid JSON,
/// nesting deeper than `max_depth`, or a construct it leaves to nlohmann).
std::optional<nlohmann::json> parse_json_fast(std::string_view text, std::size_t max_depth);

}  // namespace sesame::api
