#include "app/capture_view.hpp"

#include "base/encoding.hpp"
#include "base/log.hpp"
#include "service/email_verification.hpp"
#include "service/sending.hpp"
#include "service/tracking.hpp"

namespace sesame::app {

base::HttpResponse capture_view(service::Services& services, const base::HttpRequest& req) {
  auto param = [&](std::string_view name) { return req.query_param(name); };
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

base::HttpResponse tracking_view(service::Services& services, const base::HttpRequest& req) {
  const base::HttpResponse not_found{404, {{"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}}, "not found\n"};
  auto hit = service::parse_tracking_path(req.path(), services.settings.tracking_key);
  if (!hit) return not_found;
  // A click goes on to a link the sender wrote; only http(s) and no header injection.
  if (!hit->open && ((hit->link.rfind("https://", 0) != 0 && hit->link.rfind("http://", 0) != 0) ||
                     hit->link.find_first_of("\r\n") != std::string::npos))
    return not_found;
  auto recorded = service::record_hit(services, *hit, req.remote_ip, std::string(req.header("User-Agent")));
  if (!recorded.ok()) base::log().warn("tracking: cannot record a hit for {}: {}", hit->message_id, recorded.error().message);
  else if (!recorded.value()) return not_found;
  if (!hit->open) return base::HttpResponse{302, {{"Location", hit->link}, {"Cache-Control", "no-store"}}, ""};
  // A transparent 1x1 GIF.
  static const unsigned char kGif[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
                                       0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00,
                                       0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02,
                                       0x44, 0x01, 0x00, 0x3b};
  return base::HttpResponse{200, {{"Content-Type", "image/gif"}, {"Cache-Control", "no-store"}},
                            std::string(reinterpret_cast<const char*>(kGif), sizeof kGif)};
}

base::HttpResponse verification_link_view(service::Services& services, const base::HttpRequest& req) {
  std::string redirect;
  auto st = service::confirm_verification_link(services, req.query_param("account"), req.query_param("region"),
                                               req.query_param("identity"), req.query_param("token"), &redirect);
  // A custom verification template's SuccessRedirectionURL / FailureRedirectionURL (http(s) only).
  if (redirect.rfind("https://", 0) == 0 || redirect.rfind("http://", 0) == 0) {
    bool bad = redirect.find_first_of("\r\n") != std::string::npos;
    if (!bad && (st.ok() || st.error().code != base::ErrorCode::kInternal))
      return base::HttpResponse{302, {{"Location", redirect}, {"Cache-Control", "no-store"}}, ""};
  }
  auto page = [](int status, const std::string& title, const std::string& text) {
    return base::HttpResponse{status, {{"Content-Type", "text/html; charset=utf-8"}, {"Cache-Control", "no-store"}},
                              "<!DOCTYPE html><html><head><title>" + title + "</title></head><body><h1>" + title +
                                  "</h1><p>" + text + "</p></body></html>\n"};
  };
  if (st.ok())
    return page(200, "Congratulations!",
                "You have successfully verified an email address. You can now start sending email from this address.");
  switch (st.error().code) {
    case base::ErrorCode::kRejected: return page(410, "Verification failed", "This verification link has expired.");
    case base::ErrorCode::kInvalidParameter: return page(400, "Verification failed", "This verification link is not valid.");
    default: return page(500, "Verification failed", "Try again later.");
  }
}

}  // namespace sesame::app
