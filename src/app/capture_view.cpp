#include "app/capture_view.hpp"

#include "base/encoding.hpp"
#include "service/sending.hpp"

namespace sesame::app {

base::HttpResponse capture_view(service::Services& services, const base::HttpRequest& req) {
  std::string_view target = req.target;
  std::string_view query;
  if (auto q = target.find('?'); q != std::string_view::npos) query = target.substr(q + 1);
  auto param = [&](std::string_view name) -> std::string {
    std::string_view rest = query;
    while (!rest.empty()) {
      std::size_t amp = rest.find('&');
      std::string_view item = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      std::size_t eq = item.find('=');
      if (item.substr(0, eq) == name && eq != std::string_view::npos)
        return base::percent_decode(item.substr(eq + 1), true).value_or("");
    }
    return {};
  };
  base::HttpResponse r;
  r.headers.emplace_back("Content-Type", "application/json");
  if (req.method == "GET") {
    auto list = service::captured_messages(services, param("email"));
    if (!list.ok()) return base::HttpResponse{500, r.headers, R"({"message":"store error"})"};
    r.body = list.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }
  if (req.method == "DELETE") {
    auto n = service::delete_captured(services, param("id"));
    if (!n.ok()) return base::HttpResponse{500, r.headers, R"({"message":"store error"})"};
    r.status = 204;
    r.headers.clear();
    return r;
  }
  return base::HttpResponse{405, r.headers, R"({"message":"GET or DELETE"})"};
}

}  // namespace sesame::app
