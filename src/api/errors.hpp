// One table from (protocol, Error code, subject) to SES's wire error: code, HTTP status,
// sender/receiver fault (reference §2). Every error reply goes through here.
#pragma once

#include <string>

#include "api/sigv4.hpp"
#include "base/result.hpp"
#include "service/handler.hpp"

namespace sesame::api {

struct WireError {
  std::string code;
  std::string message;
  int status = 400;
  bool sender_fault = true;
};

WireError to_wire(service::Api api, const base::Error& error);
WireError to_wire(service::Api api, const AuthRejection& rejection);

}  // namespace sesame::api
