// Listening sockets; see acceptor.hpp.
#include "net/acceptor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "base/log.hpp"

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

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, const std::atomic<bool>& stopping,
                                  std::atomic<std::size_t>& connections,
                                  std::function<asio::awaitable<void>(asio::ip::tcp::socket)> serve, std::string name) {
  constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
  asio::steady_timer backoff(acceptor.get_executor());
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
    if (ec) {
      if (stopping.load() || ec == asio::error::operation_aborted) co_return;
      // EMFILE and friends: keep serving the connections we have, retry a little later.
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    ++connections;
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), [name](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        base::log().error("{} session failed: {}", name, ex.what());
      }
    });
  }
}

}  // namespace sesame::net
