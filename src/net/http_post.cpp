#include "net/http_post.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "net/blocking_stream.hpp"

namespace sesame::net {
namespace {
constexpr std::size_t kMaxStatusLine = 8192;

/// The host's addresses: the literal itself, or what the system resolver says (blocking;
/// webhook workers run on their own threads).
std::vector<std::string> addresses(const std::string& host, std::string& error) {
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1) return {host};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return {};
  }
  std::vector<std::string> out;
  for (addrinfo* p = res; p && out.size() < 8; p = p->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {0};
    const void* src = p->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr)
                                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr);
    if (inet_ntop(p->ai_family, src, buf, sizeof buf) && std::find(out.begin(), out.end(), buf) == out.end())
      out.emplace_back(buf);
  }
  ::freeaddrinfo(res);
  if (out.empty()) error = "no address for " + host;
  return out;
}

bool header_safe(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}
}  // namespace

bool split_http_url(const std::string& url, bool* https, std::string* host, int* port, std::string* target) {
  std::size_t rest;
  if (url.rfind("https://", 0) == 0) {
    *https = true;
    rest = 8;
  } else if (url.rfind("http://", 0) == 0) {
    *https = false;
    rest = 7;
  } else {
    return false;
  }
  std::size_t slash = url.find_first_of("/?#", rest);
  std::string authority = url.substr(rest, slash == std::string::npos ? std::string::npos : slash - rest);
  *target = slash == std::string::npos ? "/" : url.substr(slash);
  if (auto hash = target->find('#'); hash != std::string::npos) target->resize(hash);
  if (target->empty() || (*target)[0] != '/') *target = "/" + *target;
  if (authority.find('@') != std::string::npos || authority.empty()) return false;  // no userinfo
  *port = *https ? 443 : 80;
  std::string port_text;
  if (authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return false;
    *host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return false;
      port_text = authority.substr(close + 2);
    }
  } else {
    auto colon = authority.rfind(':');
    *host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (!port_text.empty()) {
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), ::isdigit)) return false;
    *port = std::stoi(port_text);
    if (*port <= 0 || *port > 65535) return false;
  }
  return !host->empty() && header_safe(*host) && header_safe(*target) &&
         std::none_of(target->begin(), target->end(), [](char c) { return c == ' '; });
}

int parse_status_line(std::string_view got) {
  // "HTTP/1.1 200 OK"
  auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(got[i])) != 0; };
  if (got.size() < 12 || got.substr(0, 7) != "HTTP/1." || got[8] != ' ' || !digit(9) || !digit(10) || !digit(11) ||
      (got.size() > 12 && got[12] != ' ' && got[12] != '\r'))
    return -1;
  const int status = (got[9] - '0') * 100 + (got[10] - '0') * 10 + (got[11] - '0');
  return status >= 100 ? status : -1;
}

HttpPostResult http_post(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body, double timeout, const HttpPostOptions& o) {
  HttpPostResult out;
  bool https = false;
  std::string host, target;
  int port = 0;
  if (!split_http_url(url, &https, &host, &port, &target)) {
    out.error = "not an http(s) URL: " + url;
    return out;
  }
  const double deadline = monotonic_seconds() + timeout;
  auto ips = addresses(host, out.error);
  std::unique_ptr<BlockingStream> conn;
  for (const auto& ip : ips) {
    conn = BlockingStream::connect(ip, port, std::max(0.1, deadline - monotonic_seconds()), out.error);
    if (conn) break;
  }
  if (!conn) return out;
  if (https && !conn->start_tls(TlsClientOptions{host, o.verify_tls, o.ca_file},
                                std::max(0.1, deadline - monotonic_seconds()), out.error))
    return out;
  const bool v6 = host.find(':') != std::string::npos;
  std::string req = "POST " + target + " HTTP/1.1\r\nHost: " + (v6 ? "[" + host + "]" : host);
  if (port != (https ? 443 : 80)) req += ":" + std::to_string(port);
  req += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) {
    if (!header_safe(k) || !header_safe(v)) continue;
    req += k + ": " + v + "\r\n";
  }
  req += "\r\n";
  req += body;
  if (!conn->write_all(req, std::max(0.1, deadline - monotonic_seconds()), out.error)) return out;
  std::string got;
  char buf[2048];
  while (got.find("\r\n") == std::string::npos) {
    long n = conn->read_some(buf, sizeof buf, deadline, out.error);
    if (n < 0) return out;
    got.append(buf, std::size_t(n));
    if (got.size() > kMaxStatusLine) {
      out.error = "status line too long";
      return out;
    }
  }
  out.status = parse_status_line(got);
  if (out.status < 0) {
    out.status = 0;
    out.error = "not an HTTP response";
    return out;
  }
  out.error.clear();
  conn->close();
  return out;
}

}  // namespace sesame::net
