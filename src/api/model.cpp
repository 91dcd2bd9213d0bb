// Compiles the botocore JSON model into the Shape/Operation graph.
#include "api/model.hpp"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace sesame::api {

extern const char kSesV1ModelJson[];
extern const char kSesV2ModelJson[];
extern const char kSesV2OverlayJson[];
extern const char kSnsModelJson[];

namespace {
[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sesame: embedded service model is malformed: %s\n", what.c_str());
  std::abort();
}
ShapeType type_of(const std::string& t) {
  if (t == "structure") return ShapeType::kStructure;
  if (t == "list") return ShapeType::kList;
  if (t == "map") return ShapeType::kMap;
  if (t == "string") return ShapeType::kString;
  if (t == "integer") return ShapeType::kInteger;
  if (t == "long") return ShapeType::kLong;
  if (t == "double" || t == "float") return ShapeType::kDouble;
  if (t == "boolean") return ShapeType::kBoolean;
  if (t == "timestamp") return ShapeType::kTimestamp;
  if (t == "blob") return ShapeType::kBlob;
  die("unknown shape type " + t);
}
}  // namespace

const Member* Shape::find_member(std::string_view n) const {
  for (const auto& m : members)
    if (m.name == n) return &m;
  return nullptr;
}

Model Model::compile(std::string_view text, std::string_view overlay) {
  using nlohmann::json;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) die("not JSON");
  if (!overlay.empty()) {
    json o = json::parse(overlay, nullptr, false);
    if (o.is_discarded()) die("overlay is not JSON");
    for (const char* section : {"shapes", "operations"}) {
      const json part = o.value(section, json::object());
      for (const auto& [k, v] : part.items()) j[section][k] = v;
    }
  }
  Model m;
  const json& meta = j.at("metadata");
  m.protocol_ = meta.value("protocol", "");
  m.api_version_ = meta.value("apiVersion", "");
  m.xml_namespace_ = meta.value("xmlNamespace", "");

  std::unordered_map<std::string, Shape*> by_name;
  for (const auto& [name, def] : j.at("shapes").items()) {
    Shape& s = m.shapes_.emplace_back();
    s.name = name;
    s.type = type_of(def.at("type").get<std::string>());
    by_name[name] = &s;
  }
  auto ref = [&](const json& r) -> const Shape* {
    auto it = by_name.find(r.at("shape").get<std::string>());
    if (it == by_name.end()) die("missing shape " + r.at("shape").get<std::string>());
    return it->second;
  };
  for (const auto& [name, def] : j.at("shapes").items()) {
    Shape& s = *by_name[name];
    if (def.contains("min")) s.min = def["min"].get<double>();
    if (def.contains("max")) s.max = def["max"].get<double>();
    if (def.contains("enum")) s.enum_values = def["enum"].get<std::vector<std::string>>();
    if (def.contains("member")) s.member = ref(def["member"]);
    if (def.contains("key")) s.key = ref(def["key"]);
    if (def.contains("value")) s.value = ref(def["value"]);
    std::vector<std::string> required = def.value("required", std::vector<std::string>{});
    if (def.contains("members")) {
      for (const auto& [mname, mdef] : def["members"].items()) {
        Member mem;
        mem.name = mname;
        mem.wire_name = mdef.value("locationName", mname);
        mem.shape = ref(mdef);
        mem.location = mdef.value("location", "");
        for (const auto& r : required)
          if (r == mname) mem.required = true;
        s.members.push_back(std::move(mem));
      }
    }
    if (def.value("exception", false)) {
      s.exception = true;
      s.error_code = name;
      if (def.contains("error")) {
        const json& e = def["error"];
        s.error_code = e.value("code", name);
        s.error_status = e.value("httpStatusCode", 400);
        s.sender_fault = e.value("senderFault", true);
      }
    }
  }
  for (const auto& [key, def] : j.at("operations").items()) {
    Operation op;
    op.name = def.value("name", key);
    op.method = def.at("http").value("method", "POST");
    op.request_uri = def.at("http").value("requestUri", "/");
    if (def.contains("input")) op.input = ref(def["input"]);
    if (def.contains("output")) {
      op.output = ref(def["output"]);
      op.result_wrapper = def["output"].value("resultWrapper", "");
    }
    if (key == op.name) m.op_index_[op.name] = m.operations_.size();  // aliases are routes only
    m.operations_.push_back(std::move(op));
  }
  return m;
}

const Operation* Model::find(std::string_view operation) const {
  auto it = op_index_.find(std::string(operation));
  return it == op_index_.end() ? nullptr : &operations_[it->second];
}

const Model& ses_v1_model() {
  static const Model m = Model::compile(kSesV1ModelJson);
  return m;
}
const Model& ses_v2_model() {
  static const Model m = Model::compile(kSesV2ModelJson, kSesV2OverlayJson);
  return m;
}
const Model& sns_model() {
  static const Model m = Model::compile(kSnsModelJson);
  return m;
}

}  // namespace sesame::api
