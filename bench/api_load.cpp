// API load generator for bench/api_bench.sh (not a test): N keep-alive connections send
// SigV4-signed requests for one workload until a count or a time limit, then print
// calls/s and latency percentiles as one line of key=value pairs.
//
// usage: api_load HOST:PORT WORKLOAD CONNECTIONS MAX_CALLS MAX_SECONDS AKID SECRET [NAME_PREFIX]
// workloads: v2-get-account, v2-create-template, v2-send-email, v1-get-send-quota, v1-create-template,
//            v2-send-bulk, v1-send-bulk (50 destinations, template "bulk"; BULK_DATA holds its
//            default data as JSON, each destination replaces user.firstName)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/sigv4.hpp"
#include "base/clock.hpp"
#include "base/encoding.hpp"

namespace {
using Clock = std::chrono::steady_clock;

struct Target {
  std::string host;
  int port = 0;
};

int connect_to(const Target& t) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(t.port));
  inet_pton(AF_INET, t.host.c_str(), &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

/// Sends one request and reads one response; returns the status (0 on I/O failure) and
/// whether the connection may be reused.
int round_trip(int fd, const std::string& wire, bool& reusable) {
  std::size_t sent = 0;
  while (sent < wire.size()) {
    ssize_t n = ::send(fd, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return 0;
    sent += std::size_t(n);
  }
  std::string buf;
  char chunk[16384];
  std::size_t header_end = std::string::npos;
  while (header_end == std::string::npos) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return 0;
    buf.append(chunk, std::size_t(n));
    header_end = buf.find("\r\n\r\n");
  }
  std::string head = sesame::base::to_lower_ascii(buf.substr(0, header_end));
  int status = std::atoi(buf.c_str() + 9);
  long length = -1;
  if (auto p = head.find("content-length:"); p != std::string::npos) length = std::atol(head.c_str() + p + 15);
  reusable = head.find("connection: close") == std::string::npos && head.rfind("http/1.0", 0) != 0;
  std::size_t body = buf.size() - header_end - 4;
  if (length < 0) {
    reusable = false;
    while (true) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
    }
    return status;
  }
  while (body < std::size_t(length)) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return 0;
    body += std::size_t(n);
  }
  return status;
}

std::string build(const std::string& workload, const std::string& host, const std::string& akid,
                  const std::string& secret, const std::string& unique) {
  sesame::base::HttpRequest r;
  r.headers.emplace_back("Host", host);
  if (workload == "v2-get-account") {
    r.method = "GET";
    r.target = "/v2/email/account";
  } else if (workload == "v2-create-template") {
    r.method = "POST";
    r.target = "/v2/email/templates";
    r.body = R"({"TemplateName":")" + unique +
             R"(","TemplateContent":{"Subject":"Hello {{name}}","Text":"Hi {{name}}, your order {{order}} shipped.","Html":"<p>Hi {{name}}</p>"}})";
    r.headers.emplace_back("Content-Type", "application/json");
  } else if (workload == "v2-send-email") {
    // A 5 KiB text message to one recipient, as the peers' smtp-source workload
    // (SEND_FROM / SEND_TO override the addresses).
    static const std::string text(5120, 'x');
    const char* from = std::getenv("SEND_FROM");
    const char* to = std::getenv("SEND_TO");
    r.method = "POST";
    r.target = "/v2/email/outbound-emails";
    r.body = std::string(R"({"FromEmailAddress":")") + (from ? from : "sender@bench.test") +
             R"(","Destination":{"ToAddresses":[")" + (to ? to : "rcpt@sink.test") +
             R"("]},"Content":{"Simple":{"Subject":{"Data":"bench message )" + unique +
             R"("},"Body":{"Text":{"Data":")" + text + R"("}}}}})";
    r.headers.emplace_back("Content-Type", "application/json");
  } else if (workload == "v2-send-bulk" || workload == "v1-send-bulk") {
    const char* data = std::getenv("BULK_DATA");
    const std::string defaults = data ? data : "{}";
    const char* from = std::getenv("SEND_FROM");
    const std::string sender = from ? from : "sender@bench.test";
    r.method = "POST";
    if (workload == "v2-send-bulk") {
      nlohmann::json body{{"FromEmailAddress", sender},
                          {"DefaultContent", {{"Template", {{"TemplateName", "bulk"}, {"TemplateData", defaults}}}}}};
      for (int i = 0; i < 50; ++i)
        body["BulkEmailEntries"].push_back(
            {{"Destination", {{"ToAddresses", {"rcpt" + std::to_string(i) + "@sink.test"}}}},
             {"ReplacementEmailContent",
              {{"ReplacementTemplate",
                {{"ReplacementTemplateData", R"({"user":{"firstName":"Reader )" + std::to_string(i) + " " + unique + R"("}})"}}}}}});
      r.target = "/v2/email/outbound-bulk-emails";
      r.body = body.dump();
      r.headers.emplace_back("Content-Type", "application/json");
    } else {
      using sesame::base::percent_encode;
      r.target = "/";
      r.body = "Action=SendBulkTemplatedEmail&Version=2010-12-01&Source=" + percent_encode(sender) +
               "&Template=bulk&DefaultTemplateData=" + percent_encode(defaults);
      for (int i = 0; i < 50; ++i) {
        const std::string m = "&Destinations.member." + std::to_string(i + 1);
        r.body += m + ".Destination.ToAddresses.member.1=" + percent_encode("rcpt" + std::to_string(i) + "@sink.test") + m +
                  ".ReplacementTemplateData=" +
                  percent_encode(R"({"user":{"firstName":"Reader )" + std::to_string(i) + " " + unique + R"("}})");
      }
      r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    }
  } else if (workload == "v1-get-send-quota") {
    r.method = "POST";
    r.target = "/";
    r.body = "Action=GetSendQuota&Version=2010-12-01";
    r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  } else {  // v1-create-template
    r.method = "POST";
    r.target = "/";
    r.body = "Action=CreateTemplate&Version=2010-12-01&Template.TemplateName=" + unique +
             "&Template.SubjectPart=Hello+%7B%7Bname%7D%7D&Template.TextPart=Hi+%7B%7Bname%7D%7D%2C+your+order+"
             "%7B%7Border%7D%7D+shipped.&Template.HtmlPart=%3Cp%3EHi+%7B%7Bname%7D%7D%3C%2Fp%3E";
    r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  }
  sesame::base::SystemClock clock;
  sesame::api::sign_request(r, akid, secret, "us-east-1", "ses", clock.now());
  std::string wire = r.method + " " + r.target + " HTTP/1.1\r\n";
  for (const auto& [k, v] : r.headers) wire += k + ": " + v + "\r\n";
  wire += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
  return wire;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr, "usage: api_load HOST:PORT WORKLOAD CONNECTIONS MAX_CALLS MAX_SECONDS AKID SECRET [PREFIX]\n");
    return 2;
  }
  std::string hostport = argv[1];
  Target target{hostport.substr(0, hostport.rfind(':')), std::atoi(hostport.c_str() + hostport.rfind(':') + 1)};
  std::string workload = argv[2];
  int conns = std::atoi(argv[3]);
  long max_calls = std::atol(argv[4]);
  double max_seconds = std::atof(argv[5]);
  std::string akid = argv[6], secret = argv[7], prefix = argc > 8 ? argv[8] : "t";
  // RATE (requests per second in all, optional): each connection sends on a fixed schedule
  // instead of as fast as it can, for latency at a given load.
  const char* rate_env = std::getenv("RATE");
  const double rate = rate_env ? std::atof(rate_env) : 0;
  // REPLAY=1: each connection signs its first request and sends those same bytes again
  // (SigV4 lets a signed request be replayed for 15 minutes), so the generator's own CPU
  // (signing, building the body) does not compete with the server on a small machine.
  // The server still verifies every signature.
  const char* replay_env = std::getenv("REPLAY");
  const bool replay = replay_env && std::string(replay_env) == "1";

  std::atomic<long> issued{0}, errors{0};
  std::mutex mu;
  std::vector<double> latencies;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(max_seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&, c] {
      std::vector<double> mine;
      std::string signed_once;  // REPLAY: the first request's bytes
      int fd = -1;
      long local = 0;
      for (;;) {
        long n = issued.fetch_add(1);
        if (n >= max_calls || Clock::now() >= deadline) break;
        if (fd < 0 && (fd = connect_to(target)) < 0) {
          ++errors;
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        if (rate > 0) {
          auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>((double(local) * conns + c) / rate));
          std::this_thread::sleep_until(due);
        }
        std::string wire;
        if (replay && !signed_once.empty()) {
          wire = signed_once;
          ++local;
        } else {
          wire = build(workload, hostport, akid, secret, prefix + "-" + std::to_string(c) + "-" + std::to_string(local++));
          if (replay) signed_once = wire;
        }
        auto t0 = Clock::now();
        bool reusable = false;
        int status = round_trip(fd, wire, reusable);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (status != 200) ++errors;
        if (!reusable || status == 0) {
          ::close(fd);
          fd = -1;
        }
      }
      if (fd >= 0) ::close(fd);
      std::lock_guard lk(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) { return latencies.empty() ? 0.0 : latencies[std::min(latencies.size() - 1, std::size_t(p * double(latencies.size())))]; };
  std::printf("workload=%s calls=%zu errors=%ld seconds=%.2f calls_per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n", workload.c_str(),
              latencies.size(), errors.load(), elapsed, double(latencies.size()) / elapsed, pct(0.50), pct(0.99));
  return errors.load() > 0 ? 1 : 0;
}
