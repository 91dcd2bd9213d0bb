#include "base/http_message.hpp"

#include "base/encoding.hpp"

#include <strings.h>

namespace sesame::base {
namespace {
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}
}  // namespace

std::vector<std::string_view> HttpRequest::header_values(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) out.emplace_back(v);
  return out;
}

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

std::string HttpRequest::query_param(std::string_view name) const {
  std::string_view t = target;
  auto q = t.find('?');
  std::string_view rest = q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view item = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    std::size_t eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) return percent_decode(item.substr(eq + 1), true).value_or("");
  }
  return {};
}

}  // namespace sesame::base
