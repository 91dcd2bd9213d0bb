// A minimal blocking HTTP/1.1 client for webhooks: one POST per connection (Connection:
// close), http or https (TLS 1.2+, the certificate verified against the system CA store
// or a configured file), one deadline over the whole exchange, only the status line read.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sesame::net {

struct HttpPostOptions {
  bool verify_tls = true;
  std::string ca_file;  // empty: the system's CA store
};

struct HttpPostResult {
  int status = 0;      // 0: no answer
  std::string error;   // why, when there is no status
};

/// Splits "http[s]://host[:port]/path?query"; false when it is not such a URL.
bool split_http_url(const std::string& url, bool* https, std::string* host, int* port, std::string* target);

/// The status code of a response that starts with `head` ("HTTP/1.x NNN ..."), or -1.
int parse_status_line(std::string_view head);

HttpPostResult http_post(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body, double timeout_seconds, const HttpPostOptions& options);

}  // namespace sesame::net
