// Listening sockets for every listener (HTTP API, SMTP): "host:port" / "[v6]:port" parsed
// once, the acceptor opened, bound and listening, and its bound address as text.
#pragma once

#include <boost/asio/ip/tcp.hpp>
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

}  // namespace sesame::net
