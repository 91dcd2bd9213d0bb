// A blocking TCP connection with an optional TLS layer and a deadline on every step, for
// the clients that run on their own worker threads (outbound SMTP, webhooks). No Asio:
// poll(2) on a non-blocking socket, OpenSSL directly.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace sesame::net {

/// Monotonic seconds, for deadlines.
double monotonic_seconds();

struct TlsClientOptions {
  std::string server_name;  // SNI, and the name checked when verifying
  bool verify = false;      // check the peer's certificate against the CA store and the name
  std::string ca_file;      // empty: the system's default CA store
};

class BlockingStream {
 public:
  ~BlockingStream();
  BlockingStream(const BlockingStream&) = delete;
  BlockingStream& operator=(const BlockingStream&) = delete;

  /// Connects to an IP address literal (v4 or v6) within `timeout` seconds.
  static std::unique_ptr<BlockingStream> connect(const std::string& ip, int port, double timeout, std::string& error);
  /// TLS 1.2+ client handshake on the connection (after STARTTLS, or at once).
  bool start_tls(const TlsClientOptions& options, double timeout, std::string& error);
  /// Up to `n` bytes before the deadline (monotonic_seconds()); -1 with `error` on
  /// failure, timeout or close.
  long read_some(char* buf, std::size_t n, double deadline, std::string& error);
  bool write_all(std::string_view bytes, double timeout, std::string& error);
  /// TLS close_notify (best effort) and close.
  void close();
  bool tls() const { return ssl_ != nullptr; }
  bool open() const { return fd_ >= 0; }

 private:
  BlockingStream() = default;
  int fd_ = -1;
  void* ssl_ = nullptr;  // SSL*
  bool wrote_ = false;   // a plain write since the last read: the next read waits first
};

}  // namespace sesame::net
