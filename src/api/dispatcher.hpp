// The one place the protocols meet the service: route (v1 form Action, v2 path, or SNS by
// the SigV4 scope's service),
// verify SigV4, decode and validate from the model, call the handler, encode the value or
// the error. Works on neutral HttpRequest/HttpResponse; knows nothing of sockets.
#pragma once

#include <memory>

#include "api/codec.hpp"
#include "api/sigv4.hpp"
#include "base/clock.hpp"
#include "base/http_message.hpp"
#include "service/handler.hpp"

namespace sesame::api {

struct DispatcherOptions {
  DecodeLimits limits;
  std::string service = "ses";
};

class Dispatcher {
 public:
  Dispatcher(const service::HandlerTable& handlers, KeyLookup keys, const base::Clock& clock,
             DispatcherOptions options = {});
  ~Dispatcher();

  /// Answers `request` through `respond` (exactly once, on any thread; at once unless the
  /// operation's handler is asynchronous). `request` must stay valid until then.
  void handle_async(const base::HttpRequest& request, std::function<void(base::HttpResponse)> respond);
  /// On the request head alone: an auth error response when the request cannot be
  /// authenticated whatever its body (no or malformed Authorization, unknown key).
  std::optional<base::HttpResponse> precheck(const base::HttpRequest& head);
  /// The HTTP layer's own errors (413, 431, 400, 503) in the protocol the path implies.
  base::HttpResponse edge_error(int status, const std::string& message, const std::string& target) const;

  /// Decodes a request to its operation name and request value without authenticating or
  /// calling a handler (the botocore oracle test and fuzz targets use it).
  base::Result<std::pair<std::string, json>> decode_only(const base::HttpRequest& request, service::Api* api) const;

 private:
  struct Decoded;
  /// What answering a handler's result needs.
  struct Call {
    service::Api api;
    const Operation* op;
    std::string request_id;
  };
  base::HttpResponse answer(const Call& call, base::Result<json> out) const;
  base::Result<Decoded> decode(const base::HttpRequest& request, service::Api api) const;
  base::HttpResponse error_response(service::Api api, const std::string& code, const std::string& message,
                                    int status, bool sender_fault, const std::string& request_id) const;

  const service::HandlerTable& handlers_;
  const base::Clock& clock_;
  DispatcherOptions options_;
  Verifier verifier_;      // SES: scope service "ses"
  Verifier sns_verifier_;  // the SNS-compatible API: scope service "sns"
  RestJsonRouter router_;
};

}  // namespace sesame::api
