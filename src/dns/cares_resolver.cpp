// c-ares backed Resolver. Each lookup uses its own channel and waits (bounded by
// timeout x tries) on the calling thread; callers are worker threads, never I/O threads.
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <poll.h>

#include <algorithm>
#include <mutex>

#include "dns/resolver.hpp"

namespace sesame::dns {
namespace {

std::once_flag g_init;

/// What a query callback hands back: the outcome and the raw answer to parse.
struct RawAnswer {
  bool done = false;
  int status = ARES_ETIMEOUT;
  std::vector<unsigned char> packet;
};

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* a = static_cast<RawAnswer*>(arg);
  a->done = true;
  a->status = status;
  if (status == ARES_SUCCESS && abuf && alen > 0) a->packet.assign(abuf, abuf + alen);
}

Outcome classify(int status) {
  if (status == ARES_SUCCESS) return Outcome::kFound;
  if (status == ARES_ENOTFOUND || status == ARES_ENODATA) return Outcome::kNotFound;
  return Outcome::kTempFail;
}

class CaresResolver final : public Resolver {
 public:
  explicit CaresResolver(ResolverOptions o) : options_(std::move(o)) {
    std::call_once(g_init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  }

  TxtAnswer txt(const std::string& name) override {
    RawAnswer raw = query(name, ns_t_txt);
    TxtAnswer out{classify(raw.status), {}, raw.status == ARES_SUCCESS ? "" : ares_strerror(raw.status)};
    if (out.outcome != Outcome::kFound) return out;
    ares_txt_ext* txt = nullptr;
    int rc = ares_parse_txt_reply_ext(raw.packet.data(), int(raw.packet.size()), &txt);
    if (rc != ARES_SUCCESS) return {rc == ARES_ENODATA ? Outcome::kNotFound : Outcome::kTempFail, {}, ares_strerror(rc)};
    std::string current;
    bool have = false;
    for (ares_txt_ext* t = txt; t; t = t->next) {
      if (t->record_start && have) {
        out.records.push_back(current);
        current.clear();
      }
      current.append(reinterpret_cast<const char*>(t->txt), t->length);
      have = true;
    }
    if (have) out.records.push_back(current);
    ares_free_data(txt);
    if (out.records.empty()) out.outcome = Outcome::kNotFound;
    return out;
  }

  MxAnswer mx(const std::string& name) override {
    RawAnswer raw = query(name, ns_t_mx);
    MxAnswer out{classify(raw.status), {}, raw.status == ARES_SUCCESS ? "" : ares_strerror(raw.status)};
    if (out.outcome != Outcome::kFound) return out;
    ares_mx_reply* mx = nullptr;
    int rc = ares_parse_mx_reply(raw.packet.data(), int(raw.packet.size()), &mx);
    if (rc != ARES_SUCCESS) return {rc == ARES_ENODATA ? Outcome::kNotFound : Outcome::kTempFail, {}, ares_strerror(rc)};
    for (ares_mx_reply* m = mx; m; m = m->next) out.records.push_back(MxRecord{m->priority, m->host});
    ares_free_data(mx);
    std::stable_sort(out.records.begin(), out.records.end(),
                     [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
    if (out.records.empty()) out.outcome = Outcome::kNotFound;
    return out;
  }

  AddressAnswer addresses(const std::string& name) override {
    AddressAnswer out;
    bool temp = false;
    for (int type : {ns_t_a, ns_t_aaaa}) {
      RawAnswer raw = query(name, type);
      Outcome o = classify(raw.status);
      if (o == Outcome::kTempFail) {
        temp = true;
        out.error = ares_strerror(raw.status);
        continue;
      }
      if (o != Outcome::kFound) continue;
      char text[INET6_ADDRSTRLEN];
      if (type == ns_t_a) {
        ares_addrttl ttls[16];
        int n = 16;
        if (ares_parse_a_reply(raw.packet.data(), int(raw.packet.size()), nullptr, ttls, &n) != ARES_SUCCESS) continue;
        for (int i = 0; i < n; ++i)
          if (inet_ntop(AF_INET, &ttls[i].ipaddr, text, sizeof text)) out.addresses.emplace_back(text);
      } else {
        ares_addr6ttl ttls[16];
        int n = 16;
        if (ares_parse_aaaa_reply(raw.packet.data(), int(raw.packet.size()), nullptr, ttls, &n) != ARES_SUCCESS) continue;
        for (int i = 0; i < n; ++i)
          if (inet_ntop(AF_INET6, &ttls[i].ip6addr, text, sizeof text)) out.addresses.emplace_back(text);
      }
    }
    // One family answering is enough to deliver; only "nothing and a failure" must wait.
    out.outcome = !out.addresses.empty() ? Outcome::kFound : temp ? Outcome::kTempFail : Outcome::kNotFound;
    return out;
  }

 private:
  RawAnswer query(const std::string& name, int type) {
    RawAnswer raw;
    ares_channel channel = nullptr;
    ares_options opts{};
    opts.timeout = options_.timeout_ms;
    opts.tries = options_.tries;
    if (ares_init_options(&channel, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
      raw.status = ARES_ENOMEM;
      return raw;
    }
    if (!options_.servers.empty()) {
      std::string csv;
      for (const auto& s : options_.servers) csv += (csv.empty() ? "" : ",") + s;
      if (ares_set_servers_ports_csv(channel, csv.c_str()) != ARES_SUCCESS) {
        ares_destroy(channel);
        raw.status = ARES_EBADSTR;
        return raw;
      }
    }
    ares_query(channel, name.c_str(), ns_c_in, type, on_answer, &raw);
    // Bounded: c-ares gives up after timeout x tries and then calls back.
    while (!raw.done) {
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      pollfd fds[ARES_GETSOCK_MAXNUM];
      int n = 0;
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short ev = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
        if (ev) fds[n++] = pollfd{socks[i], ev, 0};
      }
      timeval tv{};
      timeval* tvp = ares_timeout(channel, nullptr, &tv);
      if (n == 0 && !tvp) break;
      int wait_ms = tvp ? int(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 100;
      int ready = poll(fds, nfds_t(n), std::max(wait_ms, 1));
      if (ready <= 0) {
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // drives timeouts and retries
        continue;
      }
      for (int i = 0; i < n; ++i) {
        ares_socket_t r = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD;
        ares_socket_t w = (fds[i].revents & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD;
        if (r != ARES_SOCKET_BAD || w != ARES_SOCKET_BAD) ares_process_fd(channel, r, w);
      }
    }
    ares_destroy(channel);  // calls back with ARES_EDESTRUCTION if still pending
    return raw;
  }

  ResolverOptions options_;
};
}  // namespace

std::unique_ptr<Resolver> make_cares_resolver(const ResolverOptions& options) {
  return std::make_unique<CaresResolver>(options);
}

}  // namespace sesame::dns
