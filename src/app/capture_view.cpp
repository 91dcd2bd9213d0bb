#include "app/capture_view.hpp"

#include "base/encoding.hpp"
#include "service/email_verification.hpp"
#include "service/sending.hpp"

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
