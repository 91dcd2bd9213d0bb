// Model constraints on a decoded request value: required members, enums, lengths and
// ranges, reported in SES's "N validation error(s) detected" form.
#include <cstdio>
#include <vector>

#include "api/codec.hpp"

namespace sesame::api {
namespace {
std::string camel(const std::string& name) {
  std::string s = name;
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = char(s[0] - 'A' + 'a');
  return s;
}
std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}
std::string fmt_num(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", d);  // no integer cast: d may be any double
  return buf;
}

void check(const Shape& s, const json& v, const std::string& path, std::vector<std::string>& errs, int depth) {
  if (depth > 32 || errs.size() > 16) return;
  switch (s.type) {
    case ShapeType::kStructure:
      for (const auto& m : s.members) {
        std::string p = path.empty() ? camel(m.name) : path + "." + camel(m.name);
        auto it = v.find(m.name);
        if (it == v.end() || it->is_null()) {
          if (m.required) errs.push_back("Value null at '" + p + "' failed to satisfy constraint: Member must not be null");
          continue;
        }
        check(*m.shape, *it, p, errs, depth + 1);
      }
      return;
    case ShapeType::kList:
      if (s.min && v.size() < *s.min)
        errs.push_back("Value at '" + path + "' failed to satisfy constraint: Member must have length greater than or equal to " + fmt_num(*s.min));
      if (s.max && v.size() > *s.max)
        errs.push_back("Value at '" + path + "' failed to satisfy constraint: Member must have length less than or equal to " + fmt_num(*s.max));
      for (std::size_t i = 0; i < v.size(); ++i) check(*s.member, v[i], path + "." + std::to_string(i + 1), errs, depth + 1);
      return;
    case ShapeType::kMap:
      for (const auto& [k, item] : v.items()) check(*s.value, item, path + "." + k, errs, depth + 1);
      return;
    case ShapeType::kString: {
      if (!v.is_string()) return;
      const std::string& str = v.get_ref<const std::string&>();
      if (!s.enum_values.empty()) {
        bool found = false;
        for (const auto& e : s.enum_values) found = found || e == str;
        if (!found) {
          std::string set;
          for (const auto& e : s.enum_values) set += (set.empty() ? "" : ", ") + e;
          errs.push_back("Value '" + str + "' at '" + path + "' failed to satisfy constraint: Member must satisfy enum value set: [" + set + "]");
          return;
        }
      }
      std::size_t len = utf8_length(str);
      if (s.min && len < *s.min)
        errs.push_back("Value '" + str + "' at '" + path + "' failed to satisfy constraint: Member must have length greater than or equal to " + fmt_num(*s.min));
      if (s.max && len > *s.max)
        errs.push_back("Value at '" + path + "' failed to satisfy constraint: Member must have length less than or equal to " + fmt_num(*s.max));
      return;
    }
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kDouble: {
      if (!v.is_number()) return;
      double d = v.get<double>();
      if (s.min && d < *s.min)
        errs.push_back("Value '" + fmt_num(d) + "' at '" + path + "' failed to satisfy constraint: Member must have value greater than or equal to " + fmt_num(*s.min));
      if (s.max && d > *s.max)
        errs.push_back("Value '" + fmt_num(d) + "' at '" + path + "' failed to satisfy constraint: Member must have value less than or equal to " + fmt_num(*s.max));
      return;
    }
    default:
      return;
  }
}
}  // namespace

std::optional<std::string> validate(const Shape& shape, const json& value) {
  std::vector<std::string> errs;
  check(shape, value, "", errs, 0);
  if (errs.empty()) return std::nullopt;
  std::string msg = std::to_string(errs.size()) + (errs.size() == 1 ? " validation error detected: " : " validation errors detected: ");
  for (std::size_t i = 0; i < errs.size(); ++i) msg += (i ? "; " : "") + errs[i];
  return msg;
}

std::optional<base::Error> ses_precheck(bool v1, const Operation& op, const json& input) {
  if (!v1) return std::nullopt;
  // Recorded SES: "Invalid notification type: X. Valid values are: Bounce, Complaint, Delivery."
  if (op.name == "SetIdentityNotificationTopic" || op.name == "SetIdentityHeadersInNotificationsEnabled") {
    auto it = input.find("NotificationType");
    if (it != input.end() && it->is_string()) {
      const std::string& t = it->get_ref<const std::string&>();
      if (t != "Bounce" && t != "Complaint" && t != "Delivery")
        return base::make_error(base::ErrorCode::kInvalidParameter,
                                "Invalid notification type: " + t + ". Valid values are: Bounce, Complaint, Delivery.");
    }
  }
  return std::nullopt;
}

}  // namespace sesame::api
