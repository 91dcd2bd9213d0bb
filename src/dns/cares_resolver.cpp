// c-ares backed Resolver. Each lookup uses its own channel and waits (bounded by
// timeout x tries) on the calling thread; callers are worker threads, never I/O threads.
// Found MX and address answers are kept for their TTL (capped): delivery asks for the
// same destinations again and again. TXT answers (identity verification) and failures
// are never kept.
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <unordered_map>

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

/// The smallest TTL of the answer section's records (RFC 1035 §4.1), or nothing when the
/// packet is malformed or has no answer.
std::optional<std::uint32_t> min_answer_ttl(const std::vector<unsigned char>& p) {
  const std::size_t n = p.size();
  if (n < 12) return std::nullopt;
  const unsigned qd = (p[4] << 8) | p[5], an = (p[6] << 8) | p[7];
  std::size_t pos = 12;
  auto skip_name = [&]() {
    for (int labels = 0; labels < 128; ++labels) {
      if (pos >= n) return false;
      const unsigned len = p[pos];
      if (len == 0) return ++pos, true;
      if ((len & 0xC0) == 0xC0) return pos += 2, pos <= n;  // a pointer ends the name
      if (len & 0xC0) return false;
      pos += len + 1;
    }
    return false;
  };
  for (unsigned i = 0; i < qd; ++i) {
    if (!skip_name() || pos + 4 > n) return std::nullopt;
    pos += 4;
  }
  std::optional<std::uint32_t> best;
  for (unsigned i = 0; i < an; ++i) {
    if (!skip_name() || pos + 10 > n) return std::nullopt;
    const std::uint32_t ttl = (std::uint32_t(p[pos + 4]) << 24) | (std::uint32_t(p[pos + 5]) << 16) |
                              (std::uint32_t(p[pos + 6]) << 8) | p[pos + 7];
    const std::size_t rdlen = (std::size_t(p[pos + 8]) << 8) | p[pos + 9];
    pos += 10 + rdlen;
    if (pos > n) return std::nullopt;
    best = best ? std::min(*best, ttl) : ttl;
  }
  return best;
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
    if (auto hit = cached(mx_cache_, name)) return *hit;
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
    if (out.outcome == Outcome::kFound) keep(mx_cache_, name, out, min_answer_ttl(raw.packet));
    return out;
  }

  AddressAnswer addresses(const std::string& name) override {
    if (auto hit = cached(address_cache_, name)) return *hit;
    AddressAnswer out;
    bool temp = false;
    std::optional<std::uint32_t> ttl;  // the smallest over both families
    for (int type : {ns_t_a, ns_t_aaaa}) {
      RawAnswer raw = query(name, type);
      Outcome o = classify(raw.status);
      if (o == Outcome::kTempFail) {
        temp = true;
        out.error = ares_strerror(raw.status);
        continue;
      }
      if (o != Outcome::kFound) continue;
      const auto t = min_answer_ttl(raw.packet);
      ttl = !t ? std::optional<std::uint32_t>(0) : ttl ? std::min(*ttl, *t) : t;
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
    // Kept only when both families answered: a failed AAAA lookup is asked again next time.
    if (out.outcome == Outcome::kFound && !temp) keep(address_cache_, name, out, ttl);
    return out;
  }

 private:
  template <class Answer>
  struct Entry {
    Answer answer;
    std::chrono::steady_clock::time_point expires;
  };
  template <class Answer>
  using Cache = std::unordered_map<std::string, Entry<Answer>>;
  static constexpr std::size_t kMaxEntries = 10000;

  template <class Answer>
  std::optional<Answer> cached(Cache<Answer>& cache, const std::string& name) {
    std::lock_guard lk(cache_mu_);
    auto it = cache.find(name);
    if (it == cache.end()) return std::nullopt;
    if (std::chrono::steady_clock::now() >= it->second.expires) {
      cache.erase(it);
      return std::nullopt;
    }
    return it->second.answer;
  }

  template <class Answer>
  void keep(Cache<Answer>& cache, const std::string& name, const Answer& answer, std::optional<std::uint32_t> ttl) {
    const std::uint32_t seconds = std::min<std::uint32_t>(ttl.value_or(0), options_.max_cache_ttl_seconds);
    if (seconds == 0) return;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lk(cache_mu_);
    if (cache.size() >= kMaxEntries) {  // bounded: drop what expired, else start afresh
      for (auto it = cache.begin(); it != cache.end();) it = now >= it->second.expires ? cache.erase(it) : std::next(it);
      if (cache.size() >= kMaxEntries) cache.clear();
    }
    cache[name] = Entry<Answer>{answer, now + std::chrono::seconds(seconds)};
  }

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
  std::mutex cache_mu_;
  Cache<MxAnswer> mx_cache_;
  Cache<AddressAnswer> address_cache_;
};
}  // namespace

std::optional<std::uint32_t> answer_ttl(const std::vector<unsigned char>& packet) { return min_answer_ttl(packet); }

std::unique_ptr<Resolver> make_cares_resolver(const ResolverOptions& options) {
  return std::make_unique<CaresResolver>(options);
}

}  // namespace sesame::dns
