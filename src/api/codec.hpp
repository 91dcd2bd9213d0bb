// Model-driven codecs for the two SES wire protocols:
//  - v1 AWS Query: form body -> request value; value -> XML with the <Op>Result wrapper.
//  - v2 REST-JSON: route table from the model's requestUri/method, URI labels, query
//    string and JSON body -> request value; value -> JSON (timestamps as epoch seconds).
// Request values are JSON objects keyed by model member names; timestamps are epoch
// seconds (numbers) and blobs stay base64 text. Encoders emit only modeled members.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/model.hpp"
#include "base/http_message.hpp"
#include "base/result.hpp"

namespace sesame::api {

using json = nlohmann::json;

/// Bounds on untrusted request structure.
struct DecodeLimits {
  std::size_t max_params = 10000;      // form fields / query items
  std::size_t max_list_items = 1000;   // items decoded into one list or map
  std::size_t max_json_depth = 64;     // nesting of a JSON body
};

using FormParams = std::map<std::string, std::string>;
using QueryItems = std::vector<std::pair<std::string, std::string>>;

/// Splits "k=v&k2=v2" into decoded pairs in order (a missing '=' means an empty value).
/// `plus_is_space` for form bodies; REST query strings keep '+' (SDKs send %2B/%20).
base::Result<QueryItems> parse_query_items(std::string_view text, bool plus_is_space, const DecodeLimits& limits = {});

/// application/x-www-form-urlencoded (also used for a raw query string). Repeated keys
/// keep the first value. kValidation on malformed escapes or too many fields.
base::Result<FormParams> parse_form(std::string_view text, const DecodeLimits& limits = {});
base::Result<json> decode_query(const Shape* input, const FormParams& params, const DecodeLimits& limits = {});
std::string encode_query_response(const Model& model, const Operation& op, const json& output,
                                  const std::string& request_id);
std::string encode_query_error(const Model& model, const std::string& code, const std::string& message,
                               bool sender_fault, const std::string& request_id);

class RestJsonRouter {
 public:
  explicit RestJsonRouter(const Model& model);
  struct Match {
    const Operation* op = nullptr;
    std::vector<std::pair<std::string, std::string>> labels;  // member name -> decoded value
  };
  /// Matches the raw (percent-encoded) path. `path_exists` tells 405-like from 404-like.
  std::optional<Match> match(std::string_view method, std::string_view raw_path, bool* path_exists) const;

 private:
  struct Segment {
    std::string literal;  // empty when a label
    std::string label;
    bool greedy = false;
  };
  struct Route {
    const Operation* op;
    std::vector<Segment> segments;
    int literals = 0;
  };
  std::vector<Route> routes_;
};

base::Result<json> decode_rest_json(const Operation& op, const RestJsonRouter::Match& match,
                                    std::string_view raw_query, const base::HttpRequest& request,
                                    const DecodeLimits& limits = {});
std::string encode_json_output(const Shape* output, const json& value);

/// Checks required members, enums, lengths and ranges. Returns the SES-style message
/// ("1 validation error detected: Value null at 'x' failed to satisfy constraint: ...").
std::optional<std::string> validate(const Shape& shape, const json& value);

/// A scalar member from its text form (form fields, query strings, URI labels, headers):
/// integers in range, finite doubles, true/false, ISO 8601 or epoch timestamps.
base::Result<json> scalar_from_text(const Shape& shape, const std::string& text, const std::string& where);

/// Checks where SES answers with its own code and text instead of the generic model
/// validation error (recorded SES replies, reference §2.1). nullopt when none applies.
std::optional<base::Error> ses_precheck(bool v1, const Operation& op, const json& input);

/// Splits "/a/b?c" into path and query.
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

}  // namespace sesame::api
