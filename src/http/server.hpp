// The HTTP listener for the SES API: Beast, one coroutine per connection, keep-alive,
// and bounds on everything (connections, header and body size, idle and request time).
// Handlers run on a worker pool, so a handler waiting for a commit never blocks I/O.
// All socket work runs on one I/O thread (parsing is cheap next to handlers), so sessions
// and the stop path never touch a socket concurrently and need no strands.
// Asio and Beast stay inside this room's .cpp files.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/http_message.hpp"
#include "base/result.hpp"

namespace sesame::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:4579";  // host:port; [v6]:port accepted
  std::size_t max_body_bytes = 48u << 20;  // SES v2: 40 MB messages, base64 in a JSON body
  std::size_t max_header_bytes = 16u << 10;
  std::size_t max_connections = 1024;
  int worker_threads = 16;
  double idle_timeout_seconds = 60;
  double request_timeout_seconds = 60;
};

/// Answers a request: called exactly once, from any thread (a send answers from the
/// store's writer thread after its commit, with no worker waiting for it).
using Respond = std::function<void(base::HttpResponse)>;
/// Runs on a worker thread; the request stays valid until `respond` is called.
using Handler = std::function<void(const base::HttpRequest&, Respond respond)>;
/// Called with the request head (no body yet): a response here is sent at once and the
/// body is never read, so unauthenticated clients cannot make the server buffer bodies.
using HeadCheck = std::function<std::optional<base::HttpResponse>(const base::HttpRequest& head)>;
/// Formats the server's own errors (413, 431, 400 for unparsable HTTP) for the client's
/// protocol; `target` may be empty when the request line was not readable.
using EdgeError = std::function<base::HttpResponse(int status, const std::string& message, const std::string& target)>;

class Server {
 public:
  Server(ServerOptions options, Handler handler, HeadCheck head_check = {}, EdgeError edge_error = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and starts serving on background threads.
  base::Status start();
  /// "127.0.0.1:4579" as bound (the port is real when 0 was asked for).
  std::string local_endpoint() const;
  /// Stops accepting, lets in-flight requests finish (bounded), joins the threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sesame::http
