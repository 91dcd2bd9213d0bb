// SMTP listener: one coroutine per connection driving smtp::Session; see smtp_listener.hpp.
#include "net/smtp_listener.hpp"

#include <pthread.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <list>
#include <optional>
#include <thread>

#include "base/log.hpp"
#include "base/thread.hpp"
#include "net/acceptor.hpp"

namespace sesame::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

double AuthFailures::failed(const std::string& ip, double now) {
  std::lock_guard lk(mu_);
  if (by_ip_.size() > 100000) by_ip_.clear();  // bounded; forgetting only lifts a delay
  Entry& e = by_ip_[ip];
  if (now - e.last > 900) e.count = 0;  // failures older than 15 minutes are forgiven
  e.last = now;
  ++e.count;
  // Two free mistakes, then 1 s, 2 s, ... up to 10 s before each further answer.
  return e.count <= 2 ? 0.0 : std::min(10.0, double(e.count - 2));
}

base::Result<bool> in_networks(const std::string& ip_text, const std::vector<std::string>& cidrs) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(ip_text, ec);
  if (ec) return false;
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  for (const auto& cidr : cidrs) {
    std::size_t slash = cidr.find('/');
    auto net = asio::ip::make_address(cidr.substr(0, slash), ec);
    if (ec) return base::make_error(base::ErrorCode::kInvalidParameter, "not a network: " + cidr);
    const unsigned max_bits = net.is_v4() ? 32 : 128;
    unsigned bits = max_bits;
    if (slash != std::string::npos) {
      try {
        std::size_t used = 0;
        bits = unsigned(std::stoul(cidr.substr(slash + 1), &used));
        if (used != cidr.size() - slash - 1 || bits > max_bits) throw std::invalid_argument("prefix");
      } catch (const std::exception&) {
        return base::make_error(base::ErrorCode::kInvalidParameter, "not a network: " + cidr);
      }
    }
    if (net.is_v4() != ip.is_v4()) continue;
    std::vector<unsigned char> a, b;
    if (ip.is_v4()) {
      auto x = ip.to_v4().to_bytes(), y = net.to_v4().to_bytes();
      a.assign(x.begin(), x.end());
      b.assign(y.begin(), y.end());
    } else {
      auto x = ip.to_v6().to_bytes(), y = net.to_v6().to_bytes();
      a.assign(x.begin(), x.end());
      b.assign(y.begin(), y.end());
    }
    bool match = true;
    for (unsigned i = 0; i < bits && match; ++i) {
      const unsigned char mask = static_cast<unsigned char>(0x80u >> (i % 8));
      match = (a[i / 8] & mask) == (b[i / 8] & mask);
    }
    if (match) return true;
  }
  return false;
}

struct SmtpListener::Impl {
  // Declared before `io`: session frames destroyed with the io_context touch these.
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> buffered{0};  // bytes held by all sessions (Session::buffered)
  // Answers promised by deliver_async and not yet posted back: stop() waits for them, so
  // no store callback posts to a stopped io_context.
  std::atomic<int> answers_pending{0};
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::map<std::string, std::size_t> per_ip;
  /// One per session, touched only on the I/O thread: the read deadline and whether the
  /// session waits at a command prompt with no transaction (stop() closes those). One
  /// sweep timer for all sessions enforces the deadlines, so a read costs no timer.
  struct Slot {
    tcp::socket* socket = nullptr;
    double deadline = 0;  // steady-clock seconds; 0 while not reading
    bool fired = false;   // the deadline passed and the read was cancelled
    bool idle = false;
  };
  std::list<Slot> slots;

  SmtpListenerOptions options;
  SmtpBackend& backend;
  ssl::context tls{ssl::context::tls_server};
  bool have_tls = false;
  asio::io_context io;
  /// Credential checks and message hand-over (see SmtpListenerOptions::worker_threads).
  asio::io_context workers;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> workers_busy;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;

  Impl(SmtpListenerOptions o, SmtpBackend& b) : options(std::move(o)), backend(b) {
    if (!options.auth_failures) options.auth_failures = std::make_shared<AuthFailures>();
  }

  static std::size_t worker_count(int configured) {
    if (configured > 0) return std::size_t(configured);
    return std::size_t(std::max(1u, std::thread::hardware_concurrency()));
  }
  static std::chrono::milliseconds ms(double seconds) { return std::chrono::milliseconds(static_cast<long long>(seconds * 1000)); }
  static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  base::Status load_tls() {
    if (options.cert_file.empty()) {
      if (options.implicit_tls) return base::make_error(base::ErrorCode::kInvalidParameter, options.name + ": implicit TLS needs a certificate");
      return base::ok_status();
    }
    boost::system::error_code ec;
    // TLS 1.2 and 1.3 only (reference §4.2).
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use, ec);
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    if (!ec) tls.use_certificate_chain_file(options.cert_file, ec);
    if (!ec) tls.use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) return base::make_error(base::ErrorCode::kInvalidParameter, options.name + ": cannot load TLS certificate " + options.cert_file + ": " + ec.message());
    have_tls = true;
    return base::ok_status();
  }

  /// Cancels the reads whose deadline passed (they then say 451 and close). Ticks at a
  /// quarter of the shorter timeout, at most once a second, so a timeout is late by at
  /// most that tick.
  awaitable<void> sweep() {
    asio::steady_timer timer(io);
    const double tick =
        std::clamp(std::min(options.command_timeout_seconds, options.data_timeout_seconds) / 4, 0.01, 1.0);
    for (;;) {
      timer.expires_after(ms(tick));
      auto [ec] = co_await timer.async_wait(use_nothrow);
      if (ec) co_return;
      const double t = now();
      for (Slot& slot : slots) {
        if (slot.deadline > 0 && t >= slot.deadline && !slot.fired) {
          slot.fired = true;
          boost::system::error_code ignored;
          slot.socket->cancel(ignored);
        }
      }
    }
  }

  /// "a.b.c.d" without inet_ntop's sprintf (one per connection otherwise).
  static std::string ip_text(const asio::ip::address& a) {
    if (!a.is_v4()) return a.to_string();
    std::string out;
    out.reserve(15);
    for (unsigned char b : a.to_v4().to_bytes()) {
      if (!out.empty()) out += '.';
      if (b >= 100) out += char('0' + b / 100);
      if (b >= 10) out += char('0' + b / 10 % 10);
      out += char('0' + b % 10);
    }
    return out;
  }

  awaitable<void> session(tcp::socket socket) {
    std::string ip;
    {
      boost::system::error_code ec;
      auto ep = socket.remote_endpoint(ec);
      if (!ec) ip = ip_text(ep.address());
    }
    std::size_t from_ip = 0;
    {
      std::lock_guard lk(mu);
      from_ip = ++per_ip[ip];
    }
    struct Count {
      Impl* impl;
      const std::string& ip;
      ~Count() {
        --impl->connections;
        std::lock_guard lk(impl->mu);
        if (--impl->per_ip[ip] == 0) impl->per_ip.erase(ip);
      }
    } count{this, ip};
    beast::tcp_stream tcp_layer(std::move(socket));
    // The TLS layer exists only once a handshake starts: a clear-text session (a trusted
    // loopback client) costs no SSL object.
    std::optional<ssl::stream<beast::tcp_stream&>> stream;
    {
      boost::system::error_code ignored;
      // Clear-text replies are written straight away (below); asio's own operations work
      // the same on a non-blocking socket.
      tcp_layer.socket().non_blocking(true, ignored);
    }
    const auto slot_at = slots.insert(slots.end(), Slot{&tcp_layer.socket()});
    Slot& slot = *slot_at;
    struct SlotGuard {
      std::list<Slot>& slots;
      std::list<Slot>::iterator at;
      ~SlotGuard() { slots.erase(at); }
    } slot_guard{slots, slot_at};
    bool secure = false;

    // Every co_await below takes named values only: GCC 12 can destroy a temporary inside a
    // co_await expression twice.
    auto write = [&](const std::string& text) -> awaitable<bool> {
      if (text.empty()) co_return true;
      std::size_t done = 0;
      boost::system::error_code ec;
      if (!secure) {
        // A reply fits the socket buffer almost always: written now, without an
        // operation, a timer or a trip through the scheduler.
        while (done < text.size()) {
          done += tcp_layer.socket().write_some(asio::buffer(text.data() + done, text.size() - done), ec);
          if (ec) break;
        }
        if (done == text.size()) co_return true;
        if (ec != asio::error::would_block && ec != asio::error::try_again) co_return false;
      }
      tcp_layer.expires_after(ms(options.command_timeout_seconds));
      if (secure) std::tie(ec, std::ignore) = co_await asio::async_write(*stream, asio::buffer(text), use_nothrow);
      else std::tie(ec, std::ignore) = co_await asio::async_write(tcp_layer, asio::buffer(text.data() + done, text.size() - done), use_nothrow);
      tcp_layer.expires_never();
      co_return !ec;
    };
    auto handshake = [&]() -> awaitable<bool> {
      stream.emplace(tcp_layer, tls);
      tcp_layer.expires_after(ms(options.tls_handshake_timeout_seconds));
      auto [ec] = co_await stream->async_handshake(ssl::stream_base::server, use_nothrow);
      tcp_layer.expires_never();
      if (ec) base::log().debug("{}: TLS handshake with {} failed: {}", options.name, ip, ec.message());
      secure = !ec;
      co_return !ec;
    };
    std::string out;  // a reply said by the listener itself

    // Over a limit: said in clear text before any TLS work (an implicit-TLS client is
    // closed without a handshake, so a flood costs no crypto).
    const bool too_many = connections.load() > options.max_connections;
    if (too_many || from_ip > options.max_connections_per_ip) {
      if (!options.implicit_tls) {
        smtp::Session refusal(options.session, smtp::Peer{});
        out = refusal.closing_reply(421, "4.7.0", too_many ? "Too many concurrent SMTP connections"
                                                           : "Too many concurrent SMTP connections from this address");
        co_await write(out);
      }
      co_return;
    }
    if (options.implicit_tls && !co_await handshake()) co_return;
    smtp::Peer peer;
    peer.ip = ip;
    peer.tls = secure;
    auto trusted = in_networks(ip, options.trusted_networks);
    peer.trusted = trusted.ok() && trusted.value();
    boost::system::error_code ec0;
    auto addr = asio::ip::make_address(ip, ec0);
    if (!ec0 && addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    peer.cleartext_ok = peer.trusted && !ec0 && addr.is_loopback();
    smtp::SessionOptions so = options.session;
    so.starttls = have_tls && !options.implicit_tls;
    smtp::Session s(so, peer);
    out = s.greeting();
    if (!co_await write(out)) co_return;

    // Not zero-filled: only bytes a read returned are looked at.
    constexpr std::size_t kReadBuffer = 16 << 10;
    std::unique_ptr<char[]> buf(new char[kReadBuffer]);
    smtp::Step step;
    // This session's share of the global buffer budget, kept up to date after each feed.
    std::size_t held = 0;
    struct Held {
      Impl* impl;
      std::size_t& n;
      ~Held() { impl->buffered -= n; }
    } held_guard{this, held};
    auto account_buffered = [&] {
      const std::size_t now_held = s.buffered();
      buffered += now_held;
      buffered -= held;
      held = now_held;
    };
    std::string principal;  // who authenticated, as the backend names it
    const std::string shutting_down = so.hostname + " Service shutting down, closing transmission channel";
    for (;;) {
      // Read.
      const bool at_rest = s.idle();
      if (at_rest && stopping.load()) {
        out = s.closing_reply(421, "4.3.2", shutting_down);
        co_await write(out);
        break;
      }
      // Reads have their own deadline (not the stream's expiry, which closes the socket), so
      // that a client too slow still hears "451 Timeout waiting for data from client".
      slot.idle = at_rest;
      slot.fired = false;
      slot.deadline = now() + (at_rest ? options.command_timeout_seconds : options.data_timeout_seconds);
      boost::system::error_code ec;
      std::size_t n = 0;
      if (secure) std::tie(ec, n) = co_await stream->async_read_some(asio::buffer(buf.get(), kReadBuffer), use_nothrow);
      else std::tie(ec, n) = co_await tcp_layer.async_read_some(asio::buffer(buf.get(), kReadBuffer), use_nothrow);
      slot.deadline = 0;
      slot.idle = false;
      if (ec) {
        if (slot.fired) {
          out = s.closing_reply(451, "4.4.2", "Timeout waiting for data from client");
          co_await write(out);
        } else if (ec == asio::error::operation_aborted && stopping.load()) {
          out = s.closing_reply(421, "4.3.2", shutting_down);
          co_await write(out);
        }
        break;
      }
      s.set_low_memory(buffered.load() > options.max_buffered_bytes);
      step = s.feed(std::string_view(buf.get(), n));
      account_buffered();
      // Act until the session needs more input.
      bool open = true;
      while (open) {
        if (!co_await write(step.output)) {
          open = false;
          break;
        }
        if (step.action == smtp::Action::kRead) break;
        if (step.action == smtp::Action::kClose) {
          open = false;
          break;
        }
        if (step.action == smtp::Action::kStartTls) {
          if (!co_await handshake()) {
            open = false;
            break;
          }
          s.tls_started();
        } else if (step.action == smtp::Action::kAuthenticate) {
          std::string user = s.username(), pass = s.password();
          smtp::AuthResult r = co_await asio::co_spawn(
              workers.get_executor(),
              [&]() -> awaitable<smtp::AuthResult> {
                try {
                  co_return backend.authenticate(user, pass, ip, principal);
                } catch (const std::exception& e) {
                  base::log().error("{}: credential check for {} failed: {}", options.name, ip, e.what());
                  co_return smtp::AuthResult::kTemporary;
                }
              },
              asio::use_awaitable);
          std::fill(pass.begin(), pass.end(), '\0');
          if (r == smtp::AuthResult::kInvalid) {
            const double delay = options.auth_failures->failed(ip, now());
            if (delay > 0) {
              asio::steady_timer t(io, ms(delay));
              co_await t.async_wait(use_nothrow);
            }
          }
          s.auth_result(r);
        } else if (step.action == smtp::Action::kDeliver) {
          // The checks and signing run on a worker; the answer comes back after the commit
          // straight from the store's writer thread (no worker waits for the fsync).
          std::string message = std::move(s.message());
          const std::string user = s.authenticated() ? principal : std::string();
          smtp::Verdict v = co_await asio::async_initiate<decltype(asio::use_awaitable), void(smtp::Verdict)>(
              [&](auto handler) {
                using Handler = decltype(handler);
                struct Pending {
                  explicit Pending(Handler&& x) : h(std::move(x)) {}
                  Handler h;
                  std::atomic<bool> answered{false};
                };
                auto pending = std::make_shared<Pending>(std::move(handler));
                ++answers_pending;
                auto finish = [this, pending](smtp::Verdict verdict) {
                  if (pending->answered.exchange(true)) return;  // exactly one answer
                  auto ex = asio::get_associated_executor(pending->h);
                  asio::post(ex, [pending, verdict = std::move(verdict)]() mutable { std::move(pending->h)(std::move(verdict)); });
                  --answers_pending;
                };
                asio::post(workers, [&, finish] {
                  try {
                    backend.deliver_async(s.envelope(), std::move(message), user, ip, finish);
                  } catch (const std::exception& e) {
                    // Never an acknowledgement: the client keeps the message and retries.
                    base::log().error("{}: message from {} failed: {}", options.name, ip, e.what());
                    finish(smtp::Verdict{451, "4.3.0", "Temporary service failure"});
                  }
                });
              },
              asio::use_awaitable);
          s.delivered(v);
        }
        step = s.resume();
        account_buffered();
      }
      if (!open) break;
    }
    if (secure) {
      tcp_layer.expires_after(ms(2));
      co_await stream->async_shutdown(use_nothrow);
    }
    // The socket closes with tcp_layer (a FIN; no shutdown call of its own needed).
  }

};

SmtpListener::SmtpListener(SmtpListenerOptions options, SmtpBackend& backend)
    : impl_(std::make_unique<Impl>(std::move(options), backend)) {}

SmtpListener::~SmtpListener() { stop(); }

base::Status SmtpListener::start() {
  auto& o = impl_->options;
  SESAME_CHECK(impl_->load_tls());
  SESAME_CHECK(in_networks("127.0.0.1", o.trusted_networks));  // every CIDR parses
  SESAME_CHECK(open_acceptor(impl_->acceptor, o.listen));
  asio::co_spawn(impl_->io,
                 accept_loop(impl_->acceptor, impl_->stopping, impl_->connections,
                             [impl = impl_.get()](tcp::socket s) { return impl->session(std::move(s)); }, impl_->options.name),
                 asio::detached);
  asio::co_spawn(impl_->io, impl_->sweep(), asio::detached);
  impl_->threads.emplace_back([this] {
    pthread_setname_np(pthread_self(), "sesame-smtp-io");
    impl_->io.run();
  });
  // Signing is CPU-bound: its threads do not preempt the I/O thread or the store's writer,
  // whose latency the clients see (base::run_as_batch_work).
  impl_->workers_busy.emplace(impl_->workers.get_executor());
  for (std::size_t i = 0; i < Impl::worker_count(o.worker_threads); ++i)
    impl_->threads.emplace_back([this] {
      pthread_setname_np(pthread_self(), "sesame-smtp-wk");
      if (!base::run_as_batch_work())
        base::log().debug("{}: cannot lower a worker's scheduling class", impl_->options.name);
      impl_->workers.run();
    });
  return base::ok_status();
}

std::string SmtpListener::local_endpoint() const { return bound_endpoint(impl_->acceptor); }

void SmtpListener::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    // Sessions waiting at a command prompt with no transaction: their read ends, they say
    // 421 and close. Sessions in a transaction finish it first.
    for (auto& slot : impl_->slots)
      if (slot.idle) slot.socket->cancel(ec);
  });
  const int rounds = int(impl_->options.shutdown_grace_seconds * 50);
  for (int i = 0; i < rounds && impl_->connections.load() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // A message being committed gets its answer posted before the I/O thread stops (the store
  // always calls back, committed or failed).
  for (int i = 0; impl_->answers_pending.load() > 0; ++i) {
    if (i == 3000) base::log().warn("{}: still waiting for {} commits to answer", impl_->options.name, impl_->answers_pending.load());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  impl_->io.stop();
  impl_->workers_busy.reset();  // the workers finish what was handed to them, then return
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

}  // namespace sesame::net
