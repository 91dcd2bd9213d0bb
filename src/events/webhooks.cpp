// See webhooks.hpp.
#include "events/webhooks.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/encoding.hpp"
#include "base/ids.hpp"
#include "base/log.hpp"

namespace sesame::events {
namespace {
using base::ErrorCode;
using nlohmann::json;
using ordered = nlohmann::ordered_json;

std::string read_file(const std::string& path, bool* ok) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  *ok = f != nullptr;
  if (!f) return {};
  std::string out;
  char buf[8192];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
std::string query_value(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}
}  // namespace

// ---- signer ----

base::Result<std::unique_ptr<SnsSigner>> SnsSigner::load(const std::string& key_file, const std::string& cert_file) {
  bool ok = false;
  std::string key_pem = read_file(key_file, &ok);
  if (!ok) return base::make_error(ErrorCode::kInternal, "cannot read the SNS signing key " + key_file);
  std::unique_ptr<SnsSigner> s(new SnsSigner());
  s->cert_pem_ = read_file(cert_file, &ok);
  if (!ok) return base::make_error(ErrorCode::kInternal, "cannot read the SNS signing certificate " + cert_file);
  BIO* kb = BIO_new_mem_buf(key_pem.data(), int(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  std::fill(key_pem.begin(), key_pem.end(), '\0');
  if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    if (key) EVP_PKEY_free(key);
    return base::make_error(ErrorCode::kInternal, "the SNS signing key " + key_file + " is not an RSA private key");
  }
  s->key_ = key;
  BIO* cb = BIO_new_mem_buf(s->cert_pem_.data(), int(s->cert_pem_.size()));
  X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  if (!cert) return base::make_error(ErrorCode::kInternal, "the SNS signing certificate " + cert_file + " is not PEM");
  const bool matches = X509_check_private_key(cert, key) == 1;
  X509_free(cert);
  if (!matches)
    return base::make_error(ErrorCode::kInternal, "the SNS signing certificate " + cert_file + " does not match its key");
  s->cert_name_ = "SimpleNotificationService-" + base::hex_lower(base::sha256(s->cert_pem_)).substr(0, 32) + ".pem";
  return s;
}

SnsSigner::~SnsSigner() {
  if (key_) EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
}

base::Result<std::string> SnsSigner::sign(const std::string& text, int version) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return base::make_error(ErrorCode::kInternal, "out of memory");
  std::string sig(EVP_PKEY_get_size(static_cast<EVP_PKEY*>(key_)), '\0');
  std::size_t len = sig.size();
  const bool ok =
      EVP_DigestSignInit(ctx, nullptr, version == 2 ? EVP_sha256() : EVP_sha1(), nullptr,
                         static_cast<EVP_PKEY*>(key_)) == 1 &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return base::make_error(ErrorCode::kInternal, "SNS signature failed");
  sig.resize(len);
  return base::base64_encode(sig);
}

// ---- messages ----

std::string sns_string_to_sign(const std::string& type, const std::vector<std::pair<std::string, std::string>>& fields) {
  static const std::vector<std::string> notification = {"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"};
  static const std::vector<std::string> confirmation = {"Message",   "MessageId", "SubscribeURL", "Timestamp",
                                                        "Token",     "TopicArn",  "Type"};
  const auto& keys = type == "Notification" ? notification : confirmation;
  std::string out;
  for (const auto& k : keys) {
    auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == k; });
    if (it == fields.end()) continue;  // Subject only when present
    out += k + "\n" + it->second + "\n";
  }
  return out;
}

std::vector<store::WebhookDelivery> sns_notifications(const Topic& topic, const std::string& subject,
                                                      const std::string& message, base::EpochSeconds now,
                                                      std::string* message_id) {
  const std::string id = base::uuid_v4();
  if (message_id) *message_id = id;
  std::vector<store::WebhookDelivery> out;
  for (const auto& s : topic.subscribers) {
    json p = {{"Type", "Notification"},     {"MessageId", id},        {"TopicArn", topic.arn},
              {"SubscriptionArn", s.arn},   {"Message", message},     {"Timestamp", base::format_iso8601(now)},
              {"SignatureVersion", topic.signature_version}, {"Raw", s.raw}};
    if (!subject.empty()) p["Subject"] = subject;
    out.push_back(store::WebhookDelivery{0, s.arn, s.endpoint, p.dump(-1, ' ', false, json::error_handler_t::replace), now});
  }
  return out;
}

store::WebhookDelivery sns_confirmation(const std::string& type, const std::string& topic_arn, int signature_version,
                                        const Subscriber& s, const std::string& token, base::EpochSeconds now) {
  std::string message =
      type == "SubscriptionConfirmation"
          ? "You have chosen to subscribe to the topic " + topic_arn +
                ".\nTo confirm the subscription, visit the SubscribeURL included in this message."
          : "You have chosen to deactivate subscription " + s.arn +
                ".\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this "
                "message.";
  json p = {{"Type", type},     {"MessageId", base::uuid_v4()},           {"TopicArn", topic_arn},
            {"SubscriptionArn", s.arn}, {"Token", token},            {"Message", message},
            {"Timestamp", base::format_iso8601(now)}, {"SignatureVersion", signature_version}, {"Raw", false}};
  return store::WebhookDelivery{0, s.arn, s.endpoint, p.dump(-1, ' ', false, json::error_handler_t::replace), now};
}

// ---- deliverer ----

struct WebhookDeliverer::Impl {
  store::Store& store;
  const base::Clock& clock;
  const SnsSigner& signer;
  HttpPost post;
  WebhookOptions o;

  struct Sub {
    double retry_at = 0, backoff = 0;
    bool busy = false;
  };
  std::mutex mu;
  std::condition_variable cv;       // workers: work or stop
  std::condition_variable poll_cv;  // the poller: wake or stop
  std::map<std::string, Sub> subs;
  std::deque<std::string> ready;
  bool stopping = false, woken = false;
  std::vector<std::thread> threads;

  Impl(store::Store& s, const base::Clock& c, const SnsSigner& sg, HttpPost p, WebhookOptions opts)
      : store(s), clock(c), signer(sg), post(std::move(p)), o(std::move(opts)) {
    o.public_url = trim_slash(o.public_url);
  }

  base::Result<std::pair<std::vector<std::pair<std::string, std::string>>, std::string>> request(
      const store::WebhookDelivery& d) const {
    json p = json::parse(d.payload, nullptr, false);
    if (!p.is_object()) return base::make_error(ErrorCode::kInternal, "webhook payload is not JSON");
    const std::string type = p.value("Type", "");
    const std::string topic = p.value("TopicArn", "");
    const std::string sub = p.value("SubscriptionArn", "");
    const int version = p.value("SignatureVersion", 1) == 2 ? 2 : 1;
    std::vector<std::pair<std::string, std::string>> fields = {
        {"Type", type}, {"MessageId", p.value("MessageId", "")}};
    if (type == "Notification") {
      fields.emplace_back("TopicArn", topic);
      if (p.contains("Subject")) fields.emplace_back("Subject", p.value("Subject", ""));
      fields.emplace_back("Message", p.value("Message", ""));
      fields.emplace_back("Timestamp", p.value("Timestamp", ""));
    } else {
      const std::string token = p.value("Token", "");
      fields.emplace_back("Token", token);
      fields.emplace_back("TopicArn", topic);
      fields.emplace_back("Message", p.value("Message", ""));
      fields.emplace_back("SubscribeURL", o.public_url + "/?Action=ConfirmSubscription&TopicArn=" + query_value(topic) +
                                              "&Token=" + query_value(token));
      fields.emplace_back("Timestamp", p.value("Timestamp", ""));
    }
    SESAME_ASSIGN(auto signature, signer.sign(sns_string_to_sign(type, fields), version));
    fields.emplace_back("SignatureVersion", std::to_string(version));
    fields.emplace_back("Signature", signature);
    fields.emplace_back("SigningCertURL", o.public_url + o.cert_path + signer.certificate_name());
    if (type == "Notification")
      fields.emplace_back("UnsubscribeURL",
                          o.public_url + "/?Action=Unsubscribe&SubscriptionArn=" + query_value(sub));
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "text/plain; charset=UTF-8"},
        {"User-Agent", "Amazon Simple Notification Service Agent"},
        {"x-amz-sns-message-type", type},
        {"x-amz-sns-message-id", p.value("MessageId", "")},
        {"x-amz-sns-topic-arn", topic}};
    if (type != "SubscriptionConfirmation") headers.emplace_back("x-amz-sns-subscription-arn", sub);
    if (type == "Notification" && p.value("Raw", false)) {
      headers.emplace_back("x-amz-sns-rawdelivery", "true");
      return std::make_pair(std::move(headers), p.value("Message", ""));
    }
    ordered body = ordered::object();
    for (auto& [k, v] : fields) body[k] = v;
    return std::make_pair(std::move(headers), body.dump(-1, ' ', false, ordered::error_handler_t::replace));
  }

  /// Delivers one subscription's queued rows in order until one fails; returns how many
  /// completed and whether the turn ended on a failure.
  std::pair<std::size_t, bool> serve(const std::string& sub) {
    auto rows = store.webhooks_of(sub, 0, o.batch);
    if (!rows.ok()) {
      base::log().warn("webhooks: cannot read the outbox of {}: {}", sub, rows.error().message);
      return {0, true};
    }
    std::vector<std::uint64_t> done;  // delivered, not yet recorded
    std::size_t completed = 0;
    bool failed = false, write_failed = false;
    double last_flush = clock.now();
    // Deliveries are recorded in small groups: a crash repeats at most one group (SNS is
    // at-least-once too), without a commit per POST.
    auto flush = [&]() {
      if (done.empty() || write_failed) return;
      auto st = store.write([&](store::Txn& t) -> base::Status {
        for (auto id : done) SESAME_CHECK(t.delete_webhook(id));
        return base::ok_status();
      });
      if (!st.ok()) {
        base::log().warn("webhooks: cannot record deliveries for {}: {}", sub, st.error().message);
        write_failed = true;  // they will be sent again: at least once
        return;
      }
      completed += done.size();
      done.clear();
      last_flush = clock.now();
    };
    for (const auto& d : rows.value()) {
      {
        std::lock_guard lk(mu);
        if (stopping) break;
      }
      if (write_failed) break;
      auto req = request(d);
      PostResult r;
      if (req.ok()) {
        r = post(d.endpoint, req.value().first, req.value().second, o.timeout_seconds);
      } else {
        r.error = req.error().message;
      }
      const bool taken = r.status >= 200 && r.status < 500;
      if (taken) {
        if (r.status >= 300) base::log().info("webhooks: {} answered {} to a delivery for {}", d.endpoint, r.status, sub);
        done.push_back(d.id);
      } else if (clock.now() - d.created > o.retention_seconds) {
        base::log().warn("webhooks: giving up a delivery for {} to {} queued {} s ago: {}", sub, d.endpoint,
                         int(clock.now() - d.created), r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error);
        done.push_back(d.id);
      } else {
        base::log().info("webhooks: delivery for {} to {} failed: {}", sub, d.endpoint,
                         r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error);
        failed = true;
        break;
      }
      if (done.size() >= 16 || clock.now() - last_flush >= 0.2) flush();
    }
    flush();
    if (write_failed) return {completed, true};
    return {completed, failed || (completed < rows.value().size())};
  }

  /// Marks the due subscriptions ready for the workers.
  void refresh() {
    auto list = store.webhook_subscriptions();
    if (!list.ok()) {
      base::log().warn("webhooks: cannot read the outbox: {}", list.error().message);
      return;
    }
    const double now = clock.now();
    std::lock_guard lk(mu);
    std::set<std::string> present(list.value().begin(), list.value().end());
    for (auto it = subs.begin(); it != subs.end();) {
      if (!present.count(it->first) && !it->second.busy) it = subs.erase(it);
      else ++it;
    }
    for (const auto& s : list.value()) {
      Sub& st = subs[s];
      if (st.busy || now < st.retry_at) continue;
      if (std::find(ready.begin(), ready.end(), s) == ready.end()) ready.push_back(s);
    }
    if (!ready.empty()) cv.notify_all();
  }

  void finish(const std::string& sub, bool failed) {
    std::lock_guard lk(mu);
    Sub& st = subs[sub];
    st.busy = false;
    if (failed) {
      st.backoff = st.backoff == 0 ? 1 : std::min(st.backoff * 2, o.max_backoff_seconds);
      st.retry_at = clock.now() + st.backoff;
    } else {
      st.backoff = 0;
      st.retry_at = 0;
      woken = true;  // more may be queued behind the batch
      poll_cv.notify_all();
    }
  }

  void worker() {
    std::unique_lock lk(mu);
    for (;;) {
      cv.wait(lk, [&] { return stopping || !ready.empty(); });
      if (stopping) return;
      std::string sub = ready.front();
      ready.pop_front();
      subs[sub].busy = true;
      lk.unlock();
      auto [n, failed] = serve(sub);
      finish(sub, failed);
      lk.lock();
    }
  }

  void poller() {
    std::unique_lock lk(mu);
    while (!stopping) {
      lk.unlock();
      refresh();
      lk.lock();
      poll_cv.wait_for(lk, std::chrono::duration<double>(o.poll_seconds), [&] { return stopping || woken; });
      woken = false;
    }
  }
};

WebhookDeliverer::WebhookDeliverer(store::Store& store, const base::Clock& clock, const SnsSigner& signer, HttpPost post,
                                   WebhookOptions options)
    : impl_(std::make_unique<Impl>(store, clock, signer, std::move(post), std::move(options))) {}

WebhookDeliverer::~WebhookDeliverer() { stop(); }

void WebhookDeliverer::start() {
  impl_->threads.emplace_back([this] {
    pthread_setname_np(pthread_self(), "sesame-webhooks");
    impl_->poller();
  });
  for (int i = 0; i < std::max(1, impl_->o.threads); ++i)
    impl_->threads.emplace_back([this] {
      pthread_setname_np(pthread_self(), "sesame-webhook");
      impl_->worker();
    });
}

void WebhookDeliverer::stop() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->poll_cv.notify_all();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

void WebhookDeliverer::wake() {
  std::lock_guard lk(impl_->mu);
  impl_->woken = true;
  impl_->poll_cv.notify_all();
}

base::Result<std::pair<std::vector<std::pair<std::string, std::string>>, std::string>> WebhookDeliverer::request_for(
    const store::WebhookDelivery& delivery) const {
  return impl_->request(delivery);
}

std::size_t WebhookDeliverer::deliver_once() {
  auto list = impl_->store.webhook_subscriptions();
  if (!list.ok()) return 0;
  std::size_t total = 0;
  for (const auto& s : list.value()) total += impl_->serve(s).first;
  return total;
}

}  // namespace sesame::events
