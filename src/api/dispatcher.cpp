// Request dispatch for both SES protocols (reference §1): routing, SigV4, model-driven
// decoding and validation, handler call, encoding. Errors map once through errors.cpp.
#include "api/dispatcher.hpp"

#include <atomic>
#include <memory>

#include "api/errors.hpp"
#include "base/encoding.hpp"
#include "base/ids.hpp"
#include "base/log.hpp"

namespace sesame::api {
namespace {
using service::Api;

/// REST-JSON (v2) paths; /v1/email/ is the historical prefix some SDKs still use for one
/// v2 operation (PutEmailIdentityDkimSigningAttributes, botocore <= 1.29).
bool is_v2_path(std::string_view path) {
  return path.substr(0, 10) == "/v2/email/" || path.substr(0, 10) == "/v1/email/";
}

/// The links SNS puts in what subscribers receive (SubscribeURL, UnsubscribeURL): opened
/// without a signature, as SNS allows, by the endpoint owner.
bool is_sns_link(const base::HttpRequest& req, std::string_view path) {
  if (req.method != "GET" || path != "/" || !req.header("Authorization").empty()) return false;
  const std::string action = req.query_param("Action");
  return action == "ConfirmSubscription" || action == "Unsubscribe";
}

/// Which API a request speaks: v2 by its path; on "/", SNS when the SigV4 scope names the
/// "sns" service (or it is an SNS link), else SES v1.
Api api_of(const base::HttpRequest& req, std::string_view path) {
  if (is_v2_path(path)) return Api::kV2;
  if (path != "/") return Api::kV1;
  if (is_sns_link(req, path)) return Api::kSns;
  auto auth = parse_authorization(req.header("Authorization"));
  return auth && auth->service == "sns" ? Api::kSns : Api::kV1;
}

const Model& model_of(Api api) { return api == Api::kSns ? sns_model() : ses_v1_model(); }

/// The (account, region) an SNS link acts for: the ARN it names
/// (arn:aws:sns:<region>:<account>:<topic>[:<id>]).
std::optional<Principal> link_principal(const std::string& arn) {
  const auto parts = base::split(arn, ':');
  if (parts.size() < 6 || parts[0] != "arn" || parts[2] != "sns" || parts[3].empty() || parts[4].size() != 12)
    return std::nullopt;
  return Principal{"", parts[4], parts[3]};
}
}  // namespace

struct Dispatcher::Decoded {
  const Operation* op = nullptr;
  json input;
};

Dispatcher::Dispatcher(const service::HandlerTable& handlers, KeyLookup keys, const base::Clock& clock,
                       DispatcherOptions options)
    : handlers_(handlers),
      clock_(clock),
      options_(std::move(options)),
      verifier_(keys, clock, options_.service),
      sns_verifier_(std::move(keys), clock, "sns"),
      router_(ses_v2_model()) {}

Dispatcher::~Dispatcher() = default;

base::HttpResponse Dispatcher::error_response(Api api, const std::string& code, const std::string& message,
                                              int status, bool sender_fault, const std::string& request_id) const {
  base::HttpResponse r;
  r.status = status;
  r.headers.emplace_back("x-amzn-RequestId", request_id);
  r.headers.emplace_back("Date", base::format_http_date(clock_.now()));
  if (api != Api::kV2) {
    r.headers.emplace_back("Content-Type", "text/xml");
    r.body = encode_query_error(model_of(api), code, message, sender_fault, request_id);
  } else {
    r.headers.emplace_back("Content-Type", "application/json");
    r.headers.emplace_back("x-amzn-ErrorType", code);
    r.body = json{{"message", message}, {"__type", code}}.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return r;
}

base::Result<Dispatcher::Decoded> Dispatcher::decode(const base::HttpRequest& req, Api api) const {
  auto [path, query] = split_target(req.target);
  Decoded d;
  if (api != Api::kV2) {
    // The form body, or (old hand-written clients, SNS links) the query string.
    FormParams params;
    if (!query.empty()) {
      SESAME_ASSIGN(params, parse_form(query, options_.limits));
    }
    if (!req.body.empty()) {
      SESAME_ASSIGN(auto body, parse_form(req.body, options_.limits));
      for (auto& [k, v] : body) params.insert_or_assign(k, std::move(v));
    }
    auto action = params.find("Action");
    if (action == params.end() || action->second.empty())
      return base::make_error(base::ErrorCode::kValidation, "MissingAction");
    const Model& model = model_of(api);
    auto version = params.find("Version");
    d.op = model.find(action->second);
    // SNS's SubscribeURL and UnsubscribeURL carry no Version.
    const bool versionless_link = version == params.end() && is_sns_link(req, path);
    if (!d.op || (!versionless_link && (version == params.end() || version->second != model.api_version()))) {
      return base::make_error(base::ErrorCode::kValidation,
                              "Could not find operation " + action->second + " for version " +
                                  (version == params.end() ? std::string("NO_VERSION_SPECIFIED") : version->second),
                              "InvalidAction");
    }
    SESAME_ASSIGN(d.input, decode_query(d.op->input, params, options_.limits));
    return d;
  }
  bool path_exists = false;
  auto match = router_.match(req.method, path, &path_exists);
  if (!match) {
    return base::make_error(base::ErrorCode::kNotFound,
                            path_exists ? "Method " + req.method + " is not allowed on " + std::string(path)
                                        : "No SES v2 operation matches " + req.method + " " + std::string(path),
                            "UnknownOperation");
  }
  d.op = match->op;
  SESAME_ASSIGN(d.input, decode_rest_json(*d.op, *match, query, req, options_.limits));
  return d;
}

base::Result<std::pair<std::string, json>> Dispatcher::decode_only(const base::HttpRequest& req, Api* api) const {
  auto [path, query] = split_target(req.target);
  *api = api_of(req, path);
  SESAME_ASSIGN(auto d, decode(req, *api));
  return std::make_pair(d.op->name, std::move(d.input));
}

std::optional<base::HttpResponse> Dispatcher::precheck(const base::HttpRequest& head) {
  auto [path, query] = split_target(head.target);
  Api api = api_of(head, path);
  if (api == Api::kV1 && path != "/") return std::nullopt;  // answered by handle() without auth
  if (is_sns_link(head, path)) return std::nullopt;           // needs no signature
  AuthRejection rejection{};
  auto ok = (api == Api::kSns ? sns_verifier_ : verifier_).precheck(head, &rejection);
  if (!ok.ok() || ok.value()) return std::nullopt;  // could not tell: let handle() report it
  WireError w = to_wire(api, rejection);
  return error_response(api, w.code, w.message, w.status, true, base::uuid_v4());
}

base::HttpResponse Dispatcher::edge_error(int status, const std::string& message, const std::string& target) const {
  auto [path, query] = split_target(target);
  Api api = is_v2_path(path) ? Api::kV2 : Api::kV1;  // only the target is known here
  const char* code = status == 413   ? "RequestEntityTooLarge"
                     : status == 431 ? "RequestHeaderFieldsTooLarge"
                     : status == 503 ? "ServiceUnavailable"
                                     : "MalformedHttpRequest";
  return error_response(api, code, message, status, status < 500, base::uuid_v4());
}

void Dispatcher::handle_async(const base::HttpRequest& req, std::function<void(base::HttpResponse)> respond) {
  // Every early answer below goes through `respond`; the handler's answer may come later.
  auto early = [&](base::HttpResponse r) { respond(std::move(r)); };
  const std::string request_id = base::uuid_v4();
  auto [path, query] = split_target(req.target);
  Api api = api_of(req, path);
  if (api == Api::kV1 && path != "/") {
    return early(error_response(Api::kV2, "UnknownOperationException", "No operation is served at " + std::string(path),
                                404, true, request_id));
  }

  AuthRejection rejection{};
  base::Result<std::optional<Principal>> principal = std::optional<Principal>();
  if (is_sns_link(req, path)) {
    // The ARN in the link says whose subscription it is; the handler checks the token.
    auto p =
        link_principal(req.query_param(req.query_param("Action") == "Unsubscribe" ? "SubscriptionArn" : "TopicArn"));
    if (!p) return early(error_response(api, "InvalidParameter", "Invalid parameter: TopicArn", 400, true, request_id));
    principal = std::optional<Principal>(*p);
  } else {
    principal = (api == Api::kSns ? sns_verifier_ : verifier_).verify(req, &rejection);
  }
  if (!principal.ok()) {
    base::log().error("request {}: key lookup failed: {}", request_id, principal.error().message);
    WireError w = to_wire(api, principal.error());
    return early(error_response(api, w.code, "Internal server error", w.status, w.sender_fault, request_id));
  }
  if (!principal.value()) {
    WireError w = to_wire(api, rejection);
    return early(error_response(api, w.code, w.message, w.status, true, request_id));
  }

  auto decoded = decode(req, api);
  if (!decoded.ok()) {
    const base::Error& e = decoded.error();
    if (e.subject == "InvalidAction")
      return early(error_response(api, "InvalidAction", e.message, 400, true, request_id));
    if (e.message == "MissingAction")
      return early(error_response(api, "MissingAction", "The request must contain the parameter Action.", 400, true,
                                  request_id));
    if (e.subject == "UnknownOperation")
      return early(error_response(api, "UnknownOperationException", e.message, 404, true, request_id));
    WireError w = to_wire(api, e);
    return early(error_response(api, w.code, w.message, w.status, w.sender_fault, request_id));
  }
  const Operation& op = *decoded->op;
  if (auto e = api == Api::kSns ? std::nullopt : ses_precheck(api == Api::kV1, op, decoded->input)) {
    WireError w = to_wire(api, *e);
    return early(error_response(api, w.code, w.message, w.status, true, request_id));
  }
  if (op.input) {
    if (auto msg = validate(*op.input, decoded->input)) {
      WireError w = to_wire(api, base::make_error(base::ErrorCode::kValidation, *msg));
      return early(error_response(api, w.code, w.message, w.status, true, request_id));
    }
  }
  const service::Handler* handler = handlers_.find(api, op.name);
  const service::AsyncHandler* async_handler = handler ? nullptr : handlers_.find_async(api, op.name);
  if (!handler && !async_handler) {
    WireError w = to_wire(api, base::make_error(base::ErrorCode::kNotImplemented, ""));
    return early(error_response(api, w.code, "Sesame does not implement the operation " + op.name + " yet.", w.status,
                                false, request_id));
  }
  service::Caller caller{principal.value()->account_id, principal.value()->region, principal.value()->access_key_id,
                         req.remote_ip};
  Call call{api, &op, request_id};
  if (async_handler) {
    auto answered = std::make_shared<std::atomic<bool>>(false);
    service::Respond done = [this, call, respond, answered](base::Result<json> out) {
      base::HttpResponse r;
      try {
        r = answer(call, std::move(out));
      } catch (const std::exception& ex) {  // never leave a request unanswered
        base::log().error("request {} {}: answering failed: {}", call.request_id, call.op->name, ex.what());
        r = error_response(call.api, "InternalFailure", "Internal server error", 500, false, call.request_id);
      }
      if (!answered->exchange(true)) respond(std::move(r));
    };
    try {
      (*async_handler)(caller, decoded->input, done);
    } catch (const std::exception& ex) {
      base::log().error("request {} {}: handler threw: {}", request_id, op.name, ex.what());
      done(base::make_error(base::ErrorCode::kInternal, "Internal server error"));
    }
    return;
  }
  base::Result<json> out = base::make_error(base::ErrorCode::kInternal, "handler failed");
  try {
    out = (*handler)(caller, decoded->input);
  } catch (const std::exception& ex) {
    // A handler bug must not take the connection down with it; log it with context.
    base::log().error("request {} {}: handler threw: {}", request_id, op.name, ex.what());
    out = base::make_error(base::ErrorCode::kInternal, "Internal server error");
  }
  respond(answer(call, std::move(out)));
}

base::HttpResponse Dispatcher::answer(const Call& call, base::Result<json> out) const {
  const Api api = call.api;
  const Operation& op = *call.op;
  const std::string& request_id = call.request_id;
  if (!out.ok()) {
    WireError w = to_wire(api, out.error());
    if (w.status >= 500 && w.status != 501) {
      // The details (a store or file error) go to the log, not to the client.
      base::log().error("request {} {}: {}", request_id, op.name, out.error().message);
      w.message = "An internal error occurred. Request " + request_id + " was not carried out.";
    }
    return error_response(api, w.code, w.message, w.status, w.sender_fault, request_id);
  }
  base::HttpResponse r;
  r.headers.emplace_back("x-amzn-RequestId", request_id);
  r.headers.emplace_back("Date", base::format_http_date(clock_.now()));
  if (api != Api::kV2) {
    r.headers.emplace_back("Content-Type", "text/xml");
    r.body = encode_query_response(model_of(api), op, out.value(), request_id);
  } else {
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = encode_json_output(op.output, out.value());
  }
  return r;
}

}  // namespace sesame::api
