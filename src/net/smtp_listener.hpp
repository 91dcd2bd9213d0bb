// SMTP listeners: the thin loop around smtp::Session (read, feed, act, write), over plain
// TCP with STARTTLS or over implicit TLS, with bounds on connections (total and per IP),
// time (command, data, TLS handshake) and sizes (the session's limits). Credential checks
// and message hand-over run on a worker pool (one thread per core, batch-scheduled), so
// neither signing nor a commit blocks the I/O thread.
// Asio stays inside this room's .cpp files.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "smtp/session.hpp"

namespace sesame::net {

/// What the listener asks of the service. Both calls may block (store, commit).
class SmtpBackend {
 public:
  virtual ~SmtpBackend() = default;
  /// On kOk, `principal` says who the client is from now on; the listener hands it to
  /// deliver() as `user` (so a message needs no second credential lookup).
  virtual smtp::AuthResult authenticate(const std::string& username, const std::string& password, const std::string& ip,
                                        std::string& principal) = 0;
  /// `user` is the principal authenticate() gave, or "" for a trusted network.
  virtual smtp::Verdict deliver(const smtp::Envelope& envelope, std::string&& message, const std::string& user,
                                const std::string& ip) = 0;
  /// deliver() that may answer later, from another thread (after a commit), through
  /// `done`, called exactly once; by default it answers at once with deliver().
  virtual void deliver_async(const smtp::Envelope& envelope, std::string&& message, const std::string& user,
                             const std::string& ip, std::function<void(smtp::Verdict)> done) {
    done(deliver(envelope, std::move(message), user, ip));
  }
};

/// Failed AUTH attempts per client IP, shared by the listeners: after a few failures each
/// further failure is answered later and later (bounded), which slows password guessing
/// without holding a worker thread. A success does not reset the count (an attacker with
/// one valid key cannot use it to wipe the record); failures are forgiven after 15 minutes.
class AuthFailures {
 public:
  /// Seconds to wait before answering a failure from `ip` (the failure is counted).
  double failed(const std::string& ip, double now);

 private:
  struct Entry {
    int count = 0;
    double last = 0;
  };
  std::mutex mu_;
  std::map<std::string, Entry> by_ip_;
};

struct SmtpListenerOptions {
  std::string name = "submission";  // for logs
  std::string listen = "127.0.0.1:2587";
  bool implicit_tls = false;        // TLS from the first byte (port 465/2465)
  std::string cert_file, key_file;  // PEM; STARTTLS is offered only when set
  smtp::SessionOptions session;
  /// CIDRs whose clients may submit without AUTH (and in clear text when loopback).
  std::vector<std::string> trusted_networks;
  std::size_t max_connections = 1000;
  std::size_t max_connections_per_ip = 50;
  double command_timeout_seconds = 60;
  double data_timeout_seconds = 180;
  double tls_handshake_timeout_seconds = 20;
  double shutdown_grace_seconds = 30;  // transactions in flight may finish within this
  /// Message bytes all sessions together may hold in memory; above it, new DATA/BDAT
  /// transactions get 452 4.3.1 (those already receiving finish, each bounded by the
  /// message size limit, so nothing stalls waiting for memory that will not come back).
  std::size_t max_buffered_bytes = std::size_t(1) << 30;
  /// Threads for authentication and message hand-over (parsing, checks, DKIM signing). The
  /// work is CPU-bound and never waits for the commit, so more threads than cores only
  /// preempt each other mid-signature; they run as SCHED_BATCH (base::run_as_batch_work),
  /// so the I/O thread and the store's writer are not preempted for them. 0: one per core.
  int worker_threads = 0;
  std::shared_ptr<AuthFailures> auth_failures;
};

class SmtpListener {
 public:
  SmtpListener(SmtpListenerOptions options, SmtpBackend& backend);
  ~SmtpListener();
  SmtpListener(const SmtpListener&) = delete;
  SmtpListener& operator=(const SmtpListener&) = delete;

  /// Loads the certificate, binds, and starts serving on background threads.
  base::Status start();
  std::string local_endpoint() const;
  /// Stops accepting; idle sessions get 421; transactions in flight finish (bounded).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A self-signed certificate for `hostname` (EC P-256, or RSA 2048 when `rsa`; 10 years)
/// unless both files exist; the key file is created with mode 0600.
base::Status ensure_self_signed(const std::string& cert_file, const std::string& key_file, const std::string& hostname,
                                bool rsa = false);

/// True when `ip` is inside one of `cidrs` ("127.0.0.0/8", "::1/128", "10.1.2.3").
/// An Error names a CIDR that does not parse.
base::Result<bool> in_networks(const std::string& ip, const std::vector<std::string>& cidrs);

}  // namespace sesame::net
