// Beast HTTP/1.1 server: see server.hpp.
#include "http/server.hpp"

#include <pthread.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "base/log.hpp"
#include "net/acceptor.hpp"

namespace sesame::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::awaitable;
using asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

struct Server::Impl {
  // Declared before `io`: suspended session frames destroyed with the io_context still
  // touch these counters.
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};
  // Answers promised to sessions and not yet posted back to `io`: stop() waits for them
  // (the store always answers), so no answer is ever posted to a destroyed io_context.
  std::atomic<std::size_t> outstanding{0};
  std::mutex sessions_mu;
  std::set<beast::tcp_stream*> idle;  // sessions waiting for a next request

  ServerOptions options;
  Handler handler;
  HeadCheck head_check;
  EdgeError edge_error;
  asio::io_context io;
  asio::thread_pool workers;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;

  Impl(ServerOptions o, Handler h, HeadCheck hc, EdgeError ee)
      : options(std::move(o)),
        handler(std::move(h)),
        head_check(std::move(hc)),
        edge_error(std::move(ee)),
        workers(std::size_t(std::max(1, options.worker_threads))) {}

  static std::chrono::milliseconds ms(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
  }

  static bhttp::response<bhttp::string_body> to_beast(base::HttpResponse out, unsigned version, bool keep_alive) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(out.status), version};
    for (auto& [k, v] : out.headers) res.insert(k, v);
    res.body() = std::move(out.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
  }

  bhttp::response<bhttp::string_body> edge(int status, const std::string& message, const std::string& target,
                                           unsigned version) {
    base::HttpResponse out;
    if (edge_error) {
      out = edge_error(status, message, target);
    } else {
      out.status = status;
      out.headers.emplace_back("Content-Type", "application/json");
      out.body = "{\"message\":\"" + message + "\"}";
    }
    return to_beast(std::move(out), version, false);
  }

  void mark_idle(beast::tcp_stream* s, bool is_idle) {
    std::lock_guard lk(sessions_mu);
    if (is_idle) idle.insert(s);
    else idle.erase(s);
  }

  /// Runs the handler on a worker thread; the session resumes on `io` when it answers,
  /// whichever thread that is on.
  awaitable<base::HttpResponse> call_handler(const base::HttpRequest& r) {
    return asio::async_initiate<decltype(asio::use_awaitable), void(base::HttpResponse)>(
        [this, &r](auto completion) {
          using Completion = decltype(completion);
          // The completion is moved out, once, into what is posted to `io`: a copy of
          // `respond` kept by whoever answered (a store batch) never owns the session.
          struct Pending {
            std::mutex mu;
            std::optional<Completion> completion;
          };
          auto pending = std::make_shared<Pending>();
          pending->completion.emplace(std::move(completion));
          ++outstanding;
          asio::post(workers, [this, &r, pending] {
            Respond respond = [pending, counter = &outstanding](base::HttpResponse out) {
              std::optional<Completion> c;
              {
                std::lock_guard lk(pending->mu);
                if (!pending->completion) return;  // answered already
                c.emplace(std::move(*pending->completion));
                pending->completion.reset();
              }
              auto ex = asio::get_associated_executor(*c);
              asio::post(ex, [c = std::move(*c), out = std::move(out)]() mutable { std::move(c)(std::move(out)); });
              --*counter;  // last: stop() may return, and this Impl go, once it reads 0
            };
            try {
              handler(r, respond);
            } catch (const std::exception& e) {
              base::log().error("http: handler threw: {}", e.what());
              respond(base::HttpResponse{500, {{"Content-Type", "text/plain"}}, "internal error\n"});
            }
          });
        },
        asio::use_awaitable);
  }

  awaitable<void> session(tcp::socket socket) {
    struct Count {
      std::atomic<std::size_t>& c;
      ~Count() { --c; }
    } count{connections};
    beast::tcp_stream stream(std::move(socket));
    struct Idle {
      Impl* impl;
      beast::tcp_stream* s;
      ~Idle() { impl->mark_idle(s, false); }
    } idle_guard{this, &stream};
    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string();
    }
    beast::flat_buffer buffer;
    if (connections.load() > options.max_connections) {
      auto res = edge(503, "Too many connections", "", 11);
      stream.expires_after(ms(5));
      co_await bhttp::async_write(stream, res, use_nothrow);
      co_return;
    }
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      parser.body_limit(options.max_body_bytes);
      stream.expires_after(ms(options.idle_timeout_seconds));
      mark_idle(&stream, true);
      if (stopping.load()) break;
      auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, use_nothrow);
      mark_idle(&stream, false);
      if (ec) {
        std::string target = parser.is_header_done() ? std::string(parser.get().target()) : std::string();
        if (ec == bhttp::error::header_limit) {
          auto res = edge(431, "Request header too large", target, 11);
          co_await bhttp::async_write(stream, res, use_nothrow);
        } else if (ec == bhttp::error::body_limit) {  // Content-Length above the limit
          auto res = edge(413, "Request body too large", target, 11);
          co_await bhttp::async_write(stream, res, use_nothrow);
        } else if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
                   ec != asio::error::connection_reset && ec != asio::error::eof &&
                   ec != asio::error::operation_aborted && ec != asio::error::bad_descriptor) {
          auto res = edge(400, "Malformed HTTP request", target, 11);
          stream.expires_after(ms(5));
          co_await bhttp::async_write(stream, res, use_nothrow);
        }
        break;
      }
      auto& hdr = parser.get();
      base::HttpRequest r;
      r.method = std::string(hdr.method_string());
      r.target = std::string(hdr.target());
      for (const auto& f : hdr) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      r.remote_ip = remote;
      if (head_check) {
        if (auto early = head_check(r)) {
          auto res = to_beast(std::move(*early), hdr.version(), false);
          stream.expires_after(ms(5));
          co_await bhttp::async_write(stream, res, use_nothrow);
          break;
        }
      }
      if (hdr[bhttp::field::expect] == "100-continue") {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, hdr.version()};
        co_await bhttp::async_write(stream, cont, use_nothrow);
      }
      stream.expires_after(ms(options.request_timeout_seconds));
      auto [ec2, n2] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
      if (ec2) {
        if (ec2 == bhttp::error::body_limit) {
          auto res = edge(413, "Request body too large", r.target, hdr.version());
          co_await bhttp::async_write(stream, res, use_nothrow);
        }
        break;
      }
      auto req = parser.release();
      r.body = std::move(req.body());
      bool keep_alive = req.keep_alive() && !stopping.load();

      base::HttpResponse out = co_await call_handler(r);

      auto res = to_beast(std::move(out), req.version(), keep_alive && !stopping.load());
      stream.expires_after(ms(options.request_timeout_seconds));
      auto [ec3, n3] = co_await bhttp::async_write(stream, res, use_nothrow);
      if (ec3 || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
};

Server::Server(ServerOptions options, Handler handler, HeadCheck head_check, EdgeError edge_error)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(head_check),
                                   std::move(edge_error))) {}

Server::~Server() { stop(); }

base::Status Server::start() {
  SESAME_CHECK(net::open_acceptor(impl_->acceptor, impl_->options.listen));
  asio::co_spawn(impl_->io,
                 net::accept_loop(
                     impl_->acceptor, impl_->stopping, impl_->connections,
                     [impl = impl_.get()](tcp::socket s) { return impl->session(std::move(s)); }, "http"),
                 asio::detached);
  impl_->threads.emplace_back([this] {
    pthread_setname_np(pthread_self(), "sesame-http-io");
    impl_->io.run();
  });
  return base::ok_status();
}

std::string Server::local_endpoint() const { return net::bound_endpoint(impl_->acceptor); }

void Server::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    // Idle keep-alive sessions end now; sessions in a request finish it first (their
    // response says Connection: close).
    std::lock_guard lk(impl_->sessions_mu);
    for (auto* s : impl_->idle) s->socket().close(ec);
  });
  for (int i = 0; i < 500 && impl_->connections.load() > 0; ++i)  // bounded: 10 s
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  impl_->io.stop();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  // Nothing starts a request any more (the I/O thread is gone). Answers still on their way
  // (a commit in progress) post into `io`, which must outlive them; the store always answers.
  while (impl_->outstanding.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  impl_->workers.join();
}

}  // namespace sesame::http
