// The SES service models (botocore JSON, vendored under api/models/) compiled once at
// start-up into a graph of shapes and operations. Every codec and validator in this room
// is driven by this graph; no handler sees the wire.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sesame::api {

enum class ShapeType { kStructure, kList, kMap, kString, kInteger, kLong, kDouble, kBoolean, kTimestamp, kBlob };

struct Shape;

struct Member {
  std::string name;       // model member name (JSON key in request/response values)
  std::string wire_name;  // locationName when present, else name
  const Shape* shape = nullptr;
  std::string location;  // "" (body/form), "uri", "querystring", "header"
  bool required = false;
};

struct Shape {
  std::string name;
  ShapeType type = ShapeType::kString;
  std::vector<Member> members;                  // structure
  const Shape* member = nullptr;                // list
  const Shape* key = nullptr;                   // map
  const Shape* value = nullptr;                 // map
  std::vector<std::string> enum_values;         // string enums
  std::optional<double> min, max;              // length (string, list, map) or range (numbers)
  bool exception = false;
  int error_status = 400;                       // exceptions: HTTP status
  std::string error_code;                       // exceptions: wire code (v1 may differ from name)
  bool sender_fault = true;

  const Member* find_member(std::string_view n) const;
};

struct Operation {
  std::string name;
  std::string method;       // v2 route
  std::string request_uri;  // v2 route template, e.g. /v2/email/identities/{EmailIdentity}
  const Shape* input = nullptr;
  const Shape* output = nullptr;
  std::string result_wrapper;  // v1: "<Op>Result"
};

class Model {
 public:
  /// Compiles a botocore service-2.json text, plus an optional overlay in the same format
  /// (extra shapes and operations; an operation whose key differs from its "name" is an
  /// alternative route to that operation). Aborts on a malformed model: the models are
  /// embedded at build time, so a failure here is a bug, not input.
  static Model compile(std::string_view json_text, std::string_view overlay = {});

  const Operation* find(std::string_view operation) const;
  /// Every routable operation, alternative routes included.
  const std::vector<Operation>& operations() const { return operations_; }
  const std::string& protocol() const { return protocol_; }
  const std::string& api_version() const { return api_version_; }
  const std::string& xml_namespace() const { return xml_namespace_; }

 private:
  std::deque<Shape> shapes_;  // deque: stable addresses for the Shape* graph
  std::vector<Operation> operations_;
  std::unordered_map<std::string, std::size_t> op_index_;
  std::string protocol_, api_version_, xml_namespace_;
};

/// The embedded models, compiled on first use.
const Model& ses_v1_model();
const Model& ses_v2_model();
/// The SNS model (Query protocol), for the SNS-compatible topic and subscription API.
const Model& sns_model();

}  // namespace sesame::api
