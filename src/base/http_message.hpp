// A protocol-neutral HTTP request/response pair, so the api room can decode requests
// without seeing Beast types (the http room converts at the edge).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sesame::base {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target: path and query, still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // names as received
  std::string body;
  std::string remote_ip;

  /// Every value of a header (case-insensitive name), in arrival order.
  std::vector<std::string_view> header_values(std::string_view name) const;
  /// The first value, or empty.
  std::string_view header(std::string_view name) const;
  /// The first query parameter `name`, percent-decoded ('+' as space); empty when absent.
  std::string query_param(std::string_view name) const;
  /// The path without the query.
  std::string_view path() const { return std::string_view(target).substr(0, target.find('?')); }
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

}  // namespace sesame::base
