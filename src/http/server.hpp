// The HTTP listener for the SES API: Beast, one coroutine per connection, keep-alive,
// and bounds on everything (connections, header and body size, idle and request time).
// Handlers run on a worker pool, so a handler waiting for a commit never blocks I/O.
// Asio and Beast stay inside this room's .cpp files.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "base/http_message.hpp"
#include "base/result.hpp"

namespace sesame::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:4579";  // host:port; [v6]:port accepted
  std::size_t max_body_bytes = 64u << 20;
  std::size_t max_header_bytes = 16u << 10;
  std::size_t max_connections = 1024;
  int io_threads = 2;
  int worker_threads = 16;
  double idle_timeout_seconds = 60;
  double request_timeout_seconds = 60;
};

using Handler = std::function<base::HttpResponse(const base::HttpRequest&)>;

class Server {
 public:
  Server(ServerOptions options, Handler handler);
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

/// Parses "host:port" / "[v6]:port".
bool split_host_port(const std::string& text, std::string& host, unsigned short& port);

}  // namespace sesame::http
