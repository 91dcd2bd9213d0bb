// Listening sockets for every listener (HTTP API, SMTP): "host:port" / "[v6]:port" parsed
// once, the acceptor opened, bound and listening, and its bound address as text.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>

#include "base/result.hpp"

namespace sesame::net {

/// Parses "host:port" / "[v6]:port".
bool split_host_port(const std::string& text, std::string& host, unsigned short& port);

/// Opens `acceptor` on `listen` (reuse_address, the system's maximum backlog).
base::Status open_acceptor(boost::asio::ip::tcp::acceptor& acceptor, const std::string& listen);

/// "127.0.0.1:4579" / "[::1]:2587" as bound (the real port when 0 was asked for); empty
/// when not listening.
std::string bound_endpoint(const boost::asio::ip::tcp::acceptor& acceptor);

/// Accepts connections until `acceptor` is closed. Each one is counted in `connections`,
/// then served by `serve` as its own coroutine on the acceptor's executor (an exception
/// ending it is logged with `name`). Accept errors (EMFILE and friends) are retried
/// 100 ms later, so the connections already open keep being served.
boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor, const std::atomic<bool>& stopping,
                                         std::atomic<std::size_t>& connections,
                                         std::function<boost::asio::awaitable<void>(boost::asio::ip::tcp::socket)> serve,
                                         std::string name);

}  // namespace sesame::net
