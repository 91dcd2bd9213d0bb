// Listening sockets; see acceptor.hpp.
#include "net/acceptor.hpp"

namespace sesame::net {
namespace asio = boost::asio;

bool split_host_port(const std::string& text, std::string& host, unsigned short& port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string p = text.substr(colon + 1);
  if (p.empty() || p.size() > 5) return false;
  unsigned long v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + unsigned(c - '0');
  }
  if (v > 65535) return false;
  port = static_cast<unsigned short>(v);
  return !host.empty();
}

base::Status open_acceptor(asio::ip::tcp::acceptor& acceptor, const std::string& listen) {
  std::string host;
  unsigned short port = 0;
  boost::system::error_code ec;
  asio::ip::address addr;
  if (split_host_port(listen, host, port)) addr = asio::ip::make_address(host, ec);
  if (host.empty() || ec) return base::make_error(base::ErrorCode::kInvalidParameter, "bad listen address: " + listen);
  asio::ip::tcp::endpoint ep(addr, port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return base::make_error(base::ErrorCode::kUnavailable, "cannot listen on " + listen + ": " + ec.message());
  return base::ok_status();
}

std::string bound_endpoint(const asio::ip::tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  auto ep = acceptor.local_endpoint(ec);
  if (ec) return {};
  std::string a = ep.address().to_string();
  if (ep.address().is_v6()) a = "[" + a + "]";
  return a + ":" + std::to_string(ep.port());
}

}  // namespace sesame::net
