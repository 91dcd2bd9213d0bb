#include "net/blocking_stream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

namespace sesame::net {
namespace {

/// Waits until `fd` is ready for `events` or the deadline passes.
bool wait_fd(int fd, short events, double deadline) {
  for (;;) {
    double left = deadline - monotonic_seconds();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, int(left * 1000) + 1);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

/// One client context per (verify, CA file): TLS 1.2 or newer. Without verification it is
/// opportunistic TLS as MTAs do it without DANE/MTA-STS (a self-signed MX still gets an
/// encrypted channel).
SSL_CTX* client_ctx(bool verify, const std::string& ca_file) {
  static std::mutex mu;
  static std::map<std::pair<bool, std::string>, SSL_CTX*> contexts;
  std::lock_guard lk(mu);
  auto& c = contexts[{verify, ca_file}];
  if (!c) {
    c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (verify) {
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
      if (ca_file.empty()) SSL_CTX_set_default_verify_paths(c);
      else SSL_CTX_load_verify_locations(c, ca_file.c_str(), nullptr);
    } else {
      SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    }
  }
  return c;
}

std::string ssl_error_text() {
  unsigned long e = ERR_get_error();
  if (!e) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}
}  // namespace

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

BlockingStream::~BlockingStream() {
  if (ssl_) SSL_free(static_cast<SSL*>(ssl_));
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<BlockingStream> BlockingStream::connect(const std::string& ip, int port, double timeout,
                                                        std::string& error) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&ss); inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(std::uint16_t(port));
    len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss); inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(std::uint16_t(port));
    len = sizeof(sockaddr_in6);
  } else {
    error = "not an IP address: " + ip;
    return nullptr;
  }
  std::unique_ptr<BlockingStream> s(new BlockingStream());
  s->fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd_ < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  int one = 1;
  ::setsockopt(s->fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(s->fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) {
      error = "connect to " + ip + ": " + std::strerror(errno);
      return nullptr;
    }
    if (!wait_fd(s->fd_, POLLOUT, monotonic_seconds() + timeout)) {
      error = "connect to " + ip + ": timed out";
      return nullptr;
    }
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(s->fd_, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
      error = "connect to " + ip + ": " + std::strerror(err);
      return nullptr;
    }
  }
  return s;
}

bool BlockingStream::start_tls(const TlsClientOptions& o, double timeout, std::string& error) {
  SSL* ssl = SSL_new(client_ctx(o.verify, o.ca_file));
  if (!ssl) {
    error = ssl_error_text();
    return false;
  }
  SSL_set_fd(ssl, fd_);
  ssl_ = ssl;
  if (!o.server_name.empty()) {
    in6_addr a6{};
    in_addr a4{};
    const bool literal = inet_pton(AF_INET, o.server_name.c_str(), &a4) == 1 ||
                         inet_pton(AF_INET6, o.server_name.c_str(), &a6) == 1;
    if (!literal) SSL_set_tlsext_host_name(ssl, o.server_name.c_str());
    if (o.verify) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (literal) X509_VERIFY_PARAM_set1_ip_asc(param, o.server_name.c_str());
      else X509_VERIFY_PARAM_set1_host(param, o.server_name.c_str(), 0);
    }
  }
  const double deadline = monotonic_seconds() + timeout;
  for (;;) {
    ERR_clear_error();
    int r = SSL_connect(ssl);
    if (r == 1) return true;
    int e = SSL_get_error(ssl, r);
    if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
        wait_fd(fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
      continue;
    error = "TLS handshake failed: " + ssl_error_text();
    return false;
  }
}

long BlockingStream::read_some(char* buf, std::size_t n, double deadline, std::string& error) {
  for (;;) {
    if (ssl_) {
      SSL* ssl = static_cast<SSL*>(ssl_);
      ERR_clear_error();  // SSL_get_error reads this thread's queue: start it empty
      int r = SSL_read(ssl, buf, int(n));
      if (r > 0) return r;
      int e = SSL_get_error(ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!wait_fd(fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
          error = "timed out waiting for the server";
          return -1;
        }
        continue;
      }
      error = e == SSL_ERROR_ZERO_RETURN ? "connection closed by the server" : ssl_error_text();
      return -1;
    }
    if (wrote_) {
      // Just after a request its answer cannot be here yet: wait for it first instead of
      // a recv that fails with EAGAIN (one system call fewer per round trip).
      wrote_ = false;
      if (!wait_fd(fd_, POLLIN, deadline)) {
        error = "timed out waiting for the server";
        return -1;
      }
    }
    ssize_t r = ::recv(fd_, buf, n, 0);
    if (r > 0) return r;
    if (r == 0) {
      error = "connection closed by the server";
      return -1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (!wait_fd(fd_, POLLIN, deadline)) {
        error = "timed out waiting for the server";
        return -1;
      }
      continue;
    }
    error = std::string("read failed: ") + std::strerror(errno);
    return -1;
  }
}

bool BlockingStream::write_all(std::string_view bytes, double timeout, std::string& error) {
  const double deadline = monotonic_seconds() + timeout;
  std::size_t off = 0;
  while (off < bytes.size()) {
    if (ssl_) {
      SSL* ssl = static_cast<SSL*>(ssl_);
      ERR_clear_error();
      int r = SSL_write(ssl, bytes.data() + off, int(std::min<std::size_t>(bytes.size() - off, 1 << 20)));
      if (r > 0) {
        off += std::size_t(r);
        continue;
      }
      int e = SSL_get_error(ssl, r);
      if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
          wait_fd(fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        continue;
      error = (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? "timed out writing to the server" : ssl_error_text();
      return false;
    }
    ssize_t r = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (r > 0) {
      wrote_ = true;
      off += std::size_t(r);
      continue;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (wait_fd(fd_, POLLOUT, deadline)) continue;
      error = "timed out writing to the server";
      return false;
    }
    error = std::string("write failed: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void BlockingStream::close() {
  if (ssl_) {
    ERR_clear_error();
    SSL_shutdown(static_cast<SSL*>(ssl_));
    ERR_clear_error();
    SSL_free(static_cast<SSL*>(ssl_));
    ssl_ = nullptr;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace sesame::net
