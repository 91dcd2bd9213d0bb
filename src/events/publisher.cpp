// See publisher.hpp.
#include "events/publisher.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <climits>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/log.hpp"

namespace sesame::events {
namespace {
using base::ErrorCode;
using base::Result;
using base::Status;
constexpr const char* kCursor = "events";
constexpr std::uint64_t kFollowsGlobal = std::uint64_t(INT64_MAX);  // a stream cursor: "not behind"

Status io_error(const std::string& what, const std::string& path) {
  return base::make_error(ErrorCode::kUnavailable, what + " " + path + ": " + std::strerror(errno));
}

Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open directory", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error("fsync directory", dir);
  return base::ok_status();
}

/// The open file of one delivery stream, Firehose's layout: <stream>/<YYYY>/<MM>/<DD>/<HH>/
/// <stream>-1-<YYYY-MM-DD-HH-MM-SS>-<first seq>.
class StreamFile {
 public:
  ~StreamFile() { close(); }
  Status append(const std::string& root, const std::string& stream, const std::string& line, std::uint64_t seq,
                double now, const PublisherOptions& o) {
    if (fd_ >= 0 && (size_ >= o.rotate_bytes || now - opened_ >= o.rotate_seconds)) {
      SESAME_CHECK(sync());
      close();
    }
    if (fd_ < 0) SESAME_CHECK(open(root, stream, seq, now));
    std::size_t done = 0;
    while (done < line.size()) {
      ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return io_error("write", path_);
      done += std::size_t(n);
    }
    size_ += line.size();
    dirty_ = true;
    return base::ok_status();
  }
  Status sync() {
    if (fd_ < 0 || !dirty_) return base::ok_status();
    if (::fsync(fd_) != 0) return io_error("fsync", path_);
    dirty_ = false;
    return base::ok_status();
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  Status open(const std::string& root, const std::string& stream, std::uint64_t seq, double now) {
    std::time_t t = std::time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char dir[96], stamp[96];
    std::snprintf(dir, sizeof dir, "%04d/%02d/%02d/%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02d-%02d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    const std::string d = root + "/" + stream + "/" + dir;
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
    if (ec) return base::make_error(ErrorCode::kUnavailable, "create " + d + ": " + ec.message());
    path_ = d + "/" + stream + "-1-" + stamp + "-" + std::to_string(seq);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_ < 0) return io_error("open", path_);
    size_ = 0;
    opened_ = now;
    return fsync_dir(d);  // the new file's name is durable before records count as written
  }

  int fd_ = -1;
  std::string path_;
  std::size_t size_ = 0;
  double opened_ = 0;
  bool dirty_ = false;
};

/// A string member of an event record found without parsing it (the publisher looks at
/// every event; most need nothing else): the text after `marker` up to the closing quote.
/// nullopt when the marker is absent; the full parse decides when the value is escaped.
/// The marker's unescaped quotes cannot occur inside a JSON string, so a match is the member.
std::optional<std::string> quick_string(const std::string& body, std::string_view marker, bool* escaped) {
  const std::size_t at = body.find(marker);
  if (at == std::string::npos) return std::nullopt;
  const std::size_t begin = at + marker.size();
  const std::size_t end = body.find('"', begin);
  if (end == std::string::npos) return std::nullopt;
  std::string v = body.substr(begin, end - begin);
  *escaped = v.find('\\') != std::string::npos;
  return v;
}

/// The configuration set named in an event's mail.tags, if any.
std::string configuration_set_of(const nlohmann::json& j) {
  if (!j.is_object()) return {};
  auto mail = j.find("mail");
  if (mail == j.end() || !mail->is_object()) return {};
  auto tags = mail->find("tags");
  if (tags == mail->end() || !tags->is_object()) return {};
  auto cs = tags->find("ses:configuration-set");
  if (cs == tags->end() || !cs->is_array() || cs->empty() || !(*cs)[0].is_string()) return {};
  return (*cs)[0].get<std::string>();
}

/// A dimension's value for one event: the message tag's or the email header's, else the default.
std::string dimension_value(const nlohmann::json& event, const Dimension& d) {
  const auto& mail = event.value("mail", nlohmann::json::object());
  if (d.source == "MESSAGE_TAG") {
    const auto tags = mail.value("tags", nlohmann::json::object());
    auto t = tags.find(d.name);
    if (t != tags.end() && t->is_array() && !t->empty() && (*t)[0].is_string()) return (*t)[0].get<std::string>();
  } else if (d.source == "EMAIL_HEADER") {
    for (const auto& h : mail.value("headers", nlohmann::json::array())) {
      const std::string n = h.value("name", "");
      if (n.size() == d.name.size() && std::equal(n.begin(), n.end(), d.name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return h.value("value", "");
    }
  }
  return d.default_value;
}

/// Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*.
std::string label_name(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "_" + out;
  return out;
}

std::string label_value(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}
}  // namespace

std::string notification_form(const std::string& event_json, bool with_headers) {
  using ordered = nlohmann::ordered_json;
  ordered e = ordered::parse(event_json, nullptr, false);
  if (!e.is_object()) return event_json;
  ordered out = ordered::object();
  out["notificationType"] = e.value("eventType", "");
  for (auto& [k, v] : e.items())
    if (k != "eventType" && k != "mail") out[k] = v;
  ordered mail = e.value("mail", ordered::object());
  const ordered tags = mail.value("tags", ordered::object());
  auto first = [&](const char* name) {
    auto t = tags.find(name);
    return t != tags.end() && t->is_array() && !t->empty() && (*t)[0].is_string() ? (*t)[0].get<std::string>() : std::string();
  };
  mail.erase("tags");
  mail["sourceIp"] = first("ses:source-ip");
  mail["callerIdentity"] = first("ses:caller-identity");
  if (!with_headers) {
    mail.erase("headers");
    mail.erase("headersTruncated");
    mail.erase("commonHeaders");
  }
  out["mail"] = std::move(mail);
  return out.dump(-1, ' ', false, ordered::error_handler_t::replace);
}

std::string matching_type(const std::string& event_type) {
  std::string out;
  for (std::size_t i = 0; i < event_type.size(); ++i) {
    char c = event_type[i];
    if (c == ' ') {
      out += '_';
      continue;
    }
    if (std::isupper(static_cast<unsigned char>(c)) && i > 0 && event_type[i - 1] != ' ') out += '_';
    out += char(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string stream_name(const std::string& arn) {
  auto slash = arn.rfind("deliverystream/");
  std::string name = slash == std::string::npos ? std::string() : arn.substr(slash + 15);
  std::string out;
  for (char c : name)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') out += c;
  if (out == "." || out == "..") return {};
  return out;
}

struct Publisher::Impl {
  store::Store& store;
  const base::Clock& clock;
  DestinationLookup lookup;
  PublisherOptions o;
  std::map<std::string, StreamFile> files;
  // Every destination has written everything through `cursor`, except the streams in
  // `lagging`, each durable through its own cursor ("firehose:<stream>") and retried on
  // its own backoff: one failing destination delays only itself.
  std::optional<std::uint64_t> cursor;
  struct Lag {
    std::uint64_t through = 0;
    double retry_at = 0, backoff = 0;
  };
  std::map<std::string, Lag> lagging;
  std::uint64_t counted_through = 0;  // metrics: in memory, from the cursor at start
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread thread;
  std::mutex pass;  // one pass at a time (the thread, or stop()'s final pass)
  mutable std::mutex counters_mu;
  std::map<std::string, std::uint64_t> counters;  // Prometheus label set -> events

  Impl(store::Store& s, const base::Clock& c, DestinationLookup l, PublisherOptions opts)
      : store(s), clock(c), lookup(std::move(l)), o(std::move(opts)) {}

  static std::string stream_cursor(const std::string& stream) { return std::string("firehose:") + stream; }

  Status load() {
    SESAME_ASSIGN(auto c, store.cursor(kCursor));
    SESAME_ASSIGN(auto all, store.cursors());
    for (const auto& [name, seq] : all)
      if (name.rfind("firehose:", 0) == 0 && seq < c) lagging[name.substr(9)] = Lag{seq, 0, 0};
    cursor = c;
    counted_through = c;
    return base::ok_status();
  }

  Result<std::size_t> once() {
    std::lock_guard lk(pass);
    if (!cursor) SESAME_CHECK(load());
    const double now = clock.now();
    std::uint64_t low = *cursor;
    for (const auto& [stream, lag] : lagging)
      if (now >= lag.retry_at) low = std::min(low, lag.through);
    SESAME_ASSIGN(auto events, store.events_after(low, o.batch));
    if (events.empty()) return std::size_t(0);
    std::map<std::string, std::vector<Destination>> known;  // per pass: one lookup per set
    std::map<std::string, StreamFile*> touched;
    std::map<std::string, std::string> failed;      // stream -> why, this pass
    std::map<std::string, std::uint64_t> counted;  // merged into counters once the pass commits
    std::vector<store::WebhookDelivery> webhooks;  // queued with the cursor move
    std::map<std::string, std::optional<Topic>> topics;  // per pass: one lookup per topic
    std::map<std::string, std::optional<std::pair<Topic, bool>>> identity_topics;  // per pass, per identity and type
    auto skip_stream = [&](const std::string& stream, std::uint64_t seq) {
      if (failed.count(stream)) return true;
      auto lag = lagging.find(stream);
      if (lag == lagging.end()) return seq <= *cursor;  // written already
      return seq <= lag->second.through || now < lag->second.retry_at;
    };
    for (const auto& e : events) {
      // Parsed only when something needs more than the quick look (escaped values,
      // CloudWatch dimensions).
      std::optional<nlohmann::json> parsed_json;
      auto parsed = [&]() -> const nlohmann::json& {
        if (!parsed_json) parsed_json = nlohmann::json::parse(e.body, nullptr, false);
        return *parsed_json;
      };
      bool escaped = false;
      auto quick_cs = quick_string(e.body, R"("ses:configuration-set":[")", &escaped);
      const std::string cs = !quick_cs ? std::string() : escaped ? configuration_set_of(parsed()) : *quick_cs;
      if (e.seq > counted_through)  // every event, for sesame_events_total
        ++counted["#all#account=\"" + label_value(e.account) + "\",region=\"" + label_value(e.region) +
                  "\",event_type=\"" + label_value(e.type) + "\""];
      if (o.identity_topics && e.seq > *cursor &&
          (e.type == "Bounce" || e.type == "Complaint" || e.type == "Delivery")) {
        // The sending identity's notification topic gets the older notificationType form.
        bool arn_escaped = false;
        std::string source_arn = quick_string(e.body, R"("sourceArn":")", &arn_escaped).value_or("");
        if (arn_escaped && parsed().is_object())
          source_arn = parsed().value("mail", nlohmann::json::object()).value("sourceArn", "");
        const auto slash = source_arn.find(":identity/");
        if (slash != std::string::npos) {
          const std::string identity = source_arn.substr(slash + 10);
          const std::string ikey = e.account + "/" + e.region + "/" + identity + "/" + e.type;
          auto it = identity_topics.find(ikey);
          if (it == identity_topics.end()) {
            SESAME_ASSIGN(auto found, o.identity_topics(e.account, e.region, identity, e.type));
            it = identity_topics.emplace(ikey, std::move(found)).first;
          }
          if (it->second)
            for (auto& w : sns_notifications(it->second->first, "", notification_form(e.body, it->second->second), now))
              webhooks.push_back(std::move(w));
        }
      }
      if (cs.empty()) continue;
      const std::string key = e.account + "/" + e.region + "/" + cs;
      auto it = known.find(key);
      if (it == known.end()) {
        SESAME_ASSIGN(auto d, lookup(e.account, e.region, cs));
        it = known.emplace(key, std::move(d)).first;
      }
      const std::string type = matching_type(e.type);
      for (const auto& d : it->second) {
        if (!d.enabled) continue;
        if (std::find(d.matching.begin(), d.matching.end(), type) == d.matching.end()) continue;
        if (d.cloudwatch && e.seq > counted_through) {
          std::string labels = "account=\"" + label_value(e.account) + "\",region=\"" + label_value(e.region) +
                               "\",configuration_set=\"" + label_value(cs) + "\",destination=\"" + label_value(d.name) +
                               "\",event_type=\"" + label_value(e.type) + "\"";
          for (const auto& dim : d.dimensions)
            labels += "," + label_name(dim.name) + "=\"" + label_value(dimension_value(parsed(), dim)) + "\"";
          ++counted[labels];
        }
        if (!d.sns_topic_arn.empty() && o.topics && e.seq > *cursor) {
          const std::string tkey = e.account + "/" + e.region + "/" + d.sns_topic_arn;
          auto t = topics.find(tkey);
          if (t == topics.end()) {
            SESAME_ASSIGN(auto found, o.topics(e.account, e.region, d.sns_topic_arn));
            t = topics.emplace(tkey, std::move(found)).first;
          }
          // A deleted topic gets nothing, as SNS publishing to it would fail.
          if (t->second)
            for (auto& w : sns_notifications(*t->second, kEventSubject, e.body, now)) webhooks.push_back(std::move(w));
        }
        if (d.firehose_stream.empty() || skip_stream(d.firehose_stream, e.seq)) continue;
        StreamFile& f = files[d.firehose_stream];
        auto st = f.append(o.firehose_dir, d.firehose_stream, e.body + "\n", e.seq, now, o);
        if (!st.ok()) {
          failed[d.firehose_stream] = st.error().message;
          f.close();
          continue;
        }
        touched[d.firehose_stream] = &f;
      }
    }
    for (const auto& [stream, f] : touched) {
      if (failed.count(stream)) continue;
      if (auto st = f->sync(); !st.ok()) {
        failed[stream] = st.error().message;
        f->close();
      }
    }
    // Only now, with their records on disk, do the cursors move past them.
    const std::uint64_t last = events.back().seq;
    const std::uint64_t global = std::max(*cursor, last);
    std::map<std::string, Lag> next = lagging;
    for (auto& [stream, lag] : next) {
      if (failed.count(stream) || now < lag.retry_at) continue;
      lag.through = std::max(lag.through, last);  // this pass covered (through, last]
      lag.backoff = 0;
    }
    for (const auto& [stream, why] : failed) {
      Lag& lag = next.try_emplace(stream, Lag{*cursor, 0, 0}).first->second;
      lag.backoff = lag.backoff == 0 ? 1 : std::min(lag.backoff * 2, o.max_backoff_seconds);
      lag.retry_at = now + lag.backoff;
      base::log().warn("events: stream {} failed, retrying in {} s: {}", stream, lag.backoff, why);
    }
    std::vector<std::string> caught_up;
    for (const auto& [stream, lag] : next)
      if (lag.through >= global) caught_up.push_back(stream);
    // Relaxed: a power loss that undoes this commit undoes its webhooks with it, and the
    // pass is redone from the old cursors (at least once, as SNS and Firehose deliver).
    SESAME_CHECK(store.write(
        [&](store::Txn& t) -> base::Status {
          SESAME_CHECK(t.set_cursor(kCursor, global));
          for (const auto& w : webhooks) SESAME_CHECK(t.insert_webhook(w));
          for (const auto& [stream, lag] : next) {
            // A stream that caught up follows the global cursor again: its own is set past any seq.
            const bool follows = lag.through >= global;
            SESAME_CHECK(t.set_cursor(stream_cursor(stream), follows ? kFollowsGlobal : lag.through));
          }
          return base::ok_status();
        },
        store::Store::Durability::kRelaxed));
    for (const auto& s : caught_up) next.erase(s);
    lagging = std::move(next);
    cursor = global;
    counted_through = std::max(counted_through, last);
    if (!webhooks.empty() && o.queued_webhooks) o.queued_webhooks();
    if (!counted.empty()) {
      std::lock_guard lk(counters_mu);
      for (const auto& [k, n] : counted) counters[k] += n;
    }
    return events.size();
  }

  void run() {
    double backoff = 0;
    std::unique_lock lk(mu);
    while (!stopping) {
      lk.unlock();
      auto r = once();
      lk.lock();
      double wait = o.poll_seconds;
      if (!r.ok()) {
        backoff = backoff == 0 ? 1 : std::min(backoff * 2, o.max_backoff_seconds);
        wait = backoff;
        base::log().warn("events: publishing failed, retrying in {} s: {}", backoff, r.error().message);
      } else {
        backoff = 0;
        // A full pass: more are waiting. Otherwise the next pass waits out the poll interval
        // too: under steady load a pass at once would find a handful of new events each
        // time, and pay a read transaction and a cursor commit for them.
        if (r.value() >= o.batch) continue;
      }
      cv.wait_for(lk, std::chrono::duration<double>(wait), [&] { return stopping; });
    }
  }
};

Publisher::Publisher(store::Store& store, const base::Clock& clock, DestinationLookup lookup, PublisherOptions options)
    : impl_(std::make_unique<Impl>(store, clock, std::move(lookup), std::move(options))) {}

Publisher::~Publisher() { stop(); }

Status Publisher::start() {
  std::error_code ec;
  std::filesystem::create_directories(impl_->o.firehose_dir, ec);
  if (ec) return base::make_error(ErrorCode::kUnavailable, "create " + impl_->o.firehose_dir + ": " + ec.message());
  impl_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "sesame-events");
    impl_->run();
  });
  return base::ok_status();
}

void Publisher::stop() {
  if (!impl_->thread.joinable()) return;
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  for (int i = 0; i < 100; ++i) {  // what was committed before stop, bounded
    auto r = impl_->once();
    if (!r.ok() || r.value() == 0) break;
  }
  impl_->files.clear();
}

Result<std::size_t> Publisher::publish_once() { return impl_->once(); }

std::string Publisher::metrics() const {
  std::string out =
      "# HELP ses_events_total SES events counted by CloudWatch-style event destinations, by configuration set, "
      "destination, event type and the destination's dimensions.\n"
      "# TYPE ses_events_total counter\n";
  std::string all =
      "# HELP sesame_events_total Every event published, by account, region and event type.\n"
      "# TYPE sesame_events_total counter\n";
  std::lock_guard lk(impl_->counters_mu);
  for (const auto& [labels, n] : impl_->counters) {
    if (labels.rfind("#all#", 0) == 0) all += "sesame_events_total{" + labels.substr(5) + "} " + std::to_string(n) + "\n";
    else out += "ses_events_total{" + labels + "} " + std::to_string(n) + "\n";
  }
  return out + all;
}

}  // namespace sesame::events
