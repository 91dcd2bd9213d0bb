// See tracking.hpp.
#include "service/tracking.hpp"

#include <algorithm>

#include "base/clock.hpp"
#include "base/encoding.hpp"

namespace sesame::service {
namespace {

std::string b64url(std::string_view bytes) {
  std::string s = base::base64_encode(bytes);
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

std::optional<std::string> from_b64url(std::string_view text) {
  if (text.size() > 16384) return std::nullopt;
  std::string s(text);
  for (char& c : s) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (!std::isalnum(static_cast<unsigned char>(c))) return std::nullopt;
  }
  while (s.size() % 4) s += '=';
  return base::base64_decode(s);
}

std::string signature(const std::string& key, char kind, const std::string& payload) {
  return b64url(base::hmac_sha256(key, std::string(1, kind) + "\n" + payload).substr(0, 16));
}

bool istarts(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

std::size_t ifind(std::string_view s, std::string_view needle, std::size_t from = 0) {
  for (std::size_t i = from; i + needle.size() <= s.size(); ++i)
    if (istarts(s.substr(i), needle)) return i;
  return std::string_view::npos;
}

/// The few entities an href value commonly carries.
std::string unescape_html(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '&') {
      static const std::pair<const char*, char> kEntities[] = {
          {"&amp;", '&'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&apos;", '\''}, {"&lt;", '<'}, {"&gt;", '>'}};
      bool done = false;
      for (const auto& [e, c] : kEntities)
        if (istarts(v.substr(i), e)) {
          out += c;
          i += std::strlen(e) - 1;
          done = true;
          break;
        }
      if (done) continue;
    }
    out += v[i];
  }
  return out;
}

struct Attr {
  std::size_t value_begin = 0, value_end = 0;  // within the tag
  std::string value;
};

/// The attribute `name` of a tag's text ("<a ...>"), quoted or not.
std::optional<Attr> attribute(std::string_view tag, std::string_view name) {
  std::size_t i = 2;  // after "<a"
  while (i < tag.size()) {
    while (i < tag.size() && (std::isspace(static_cast<unsigned char>(tag[i])) || tag[i] == '/')) ++i;
    std::size_t n0 = i;
    while (i < tag.size() && !std::isspace(static_cast<unsigned char>(tag[i])) && tag[i] != '=' && tag[i] != '>') ++i;
    std::string_view attr = tag.substr(n0, i - n0);
    if (attr.empty()) return std::nullopt;
    while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i]))) ++i;
    Attr a;
    if (i < tag.size() && tag[i] == '=') {
      ++i;
      while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i]))) ++i;
      if (i < tag.size() && (tag[i] == '"' || tag[i] == '\'')) {
        char q = tag[i++];
        a.value_begin = i;
        while (i < tag.size() && tag[i] != q) ++i;
        a.value_end = i;
        if (i < tag.size()) ++i;
      } else {
        a.value_begin = i;
        while (i < tag.size() && !std::isspace(static_cast<unsigned char>(tag[i])) && tag[i] != '>') ++i;
        a.value_end = i;
      }
      a.value = std::string(tag.substr(a.value_begin, a.value_end - a.value_begin));
    } else {
      a.value_begin = a.value_end = i;
    }
    if (attr.size() == name.size() && istarts(attr, name)) return a;
  }
  return std::nullopt;
}

/// Where the tag that starts at `from` ends ('>' outside quotes), or npos.
std::size_t tag_end(std::string_view html, std::size_t from) {
  char quote = 0;
  for (std::size_t i = from; i < html.size(); ++i) {
    if (quote) {
      if (html[i] == quote) quote = 0;
    } else if (html[i] == '"' || html[i] == '\'') {
      quote = html[i];
    } else if (html[i] == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}
}  // namespace

std::string track_html(std::string_view html, const TrackingLinks& t) {
  std::string out;
  out.reserve(html.size() + 256);
  std::size_t pos = 0, links = 0;
  if (t.clicks) {
    for (;;) {
      std::size_t a = ifind(html, "<a", pos);
      if (a == std::string_view::npos) break;
      const bool is_a = a + 2 < html.size() && std::isspace(static_cast<unsigned char>(html[a + 2]));
      std::size_t end = is_a ? tag_end(html, a) : std::string_view::npos;
      if (!is_a || end == std::string_view::npos || links >= t.max_links) {
        out.append(html.substr(pos, a + 2 - pos));
        pos = a + 2;
        if (end == std::string_view::npos && is_a) break;
        continue;
      }
      std::string_view tag = html.substr(a, end + 1 - a);
      auto href = attribute(tag, "href");
      const bool untracked = attribute(tag, "ses:no-track").has_value();
      std::string target = href ? unescape_html(href->value) : std::string();
      if (!href || untracked || !(istarts(target, "http://") || istarts(target, "https://")) || target.size() > 8192) {
        out.append(html.substr(pos, end + 1 - pos));
        pos = end + 1;
        continue;
      }
      std::string tags;
      if (auto tg = attribute(tag, "ses:tags")) tags = unescape_html(tg->value).substr(0, 1024);
      const std::string payload = t.message_id + "\n" + target + "\n" + tags;
      const std::string url = t.base + "/t/c/" + b64url(payload) + "/" + signature(t.key, 'c', payload);
      out.append(html.substr(pos, a - pos));
      out.append(tag.substr(0, href->value_begin));
      const bool quoted = href->value_begin > 0 && (tag[href->value_begin - 1] == '"' || tag[href->value_begin - 1] == '\'');
      out.append(quoted ? url : "\"" + url + "\"");
      out.append(tag.substr(href->value_end));
      pos = end + 1;
      ++links;
    }
  }
  out.append(html.substr(pos));
  if (t.opens) {
    const std::string pixel = "<img alt=\"\" src=\"" + t.base + "/t/o/" + b64url(t.message_id) + "/" +
                              signature(t.key, 'o', t.message_id) +
                              "\" style=\"display: none; width: 1px; height: 1px;\">";
    // Before the last </body>, else at the end.
    std::size_t body = std::string::npos;
    for (std::size_t p = ifind(out, "</body"); p != std::string::npos; p = ifind(out, "</body", p + 1)) body = p;
    if (body == std::string::npos) out += pixel;
    else out.insert(body, pixel);
  }
  return out;
}

std::optional<TrackingLinks> tracking_for(const json& cs, const std::string& public_url) {
  TrackingLinks t;
  for (const auto& d : cs.value("event_destinations", json::array())) {
    if (!d.value("Enabled", false)) continue;
    for (const auto& type : d.value("MatchingEventTypes", json::array())) {
      if (!type.is_string()) continue;
      const std::string s = base::to_upper_ascii(type.get<std::string>());
      if (s == "OPEN") t.opens = true;
      if (s == "CLICK") t.clicks = true;
    }
  }
  if (!t.opens && !t.clicks) return std::nullopt;
  const json opts = cs.value("TrackingOptions", json::object());
  const std::string domain = opts.value("CustomRedirectDomain", "");
  if (!domain.empty()) {
    t.base = (opts.value("HttpsPolicy", "OPTIONAL") == "OPTIONAL" ? "http://" : "https://") + domain;
  } else {
    t.base = public_url;
  }
  while (!t.base.empty() && t.base.back() == '/') t.base.pop_back();
  return t;
}

std::optional<TrackingHit> parse_tracking_path(std::string_view path, const std::string& key) {
  if (path.size() > 20000 || path.substr(0, 3) != "/t/" || path.size() < 8 || path[4] != '/') return std::nullopt;
  const char kind = path[3];
  if (kind != 'o' && kind != 'c') return std::nullopt;
  std::string_view rest = path.substr(5);
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto payload = from_b64url(rest.substr(0, slash));
  if (!payload) return std::nullopt;
  const std::string sig = std::string(rest.substr(slash + 1));
  if (!base::constant_time_equal(signature(key, kind, *payload), sig)) return std::nullopt;
  TrackingHit hit;
  hit.open = kind == 'o';
  if (hit.open) {
    hit.message_id = *payload;
  } else {
    auto parts = base::split(*payload, '\n');
    if (parts.size() != 3) return std::nullopt;
    hit.message_id = parts[0];
    hit.link = parts[1];
    hit.link_tags = parts[2];
  }
  if (hit.message_id.empty() || hit.message_id.size() > 128) return std::nullopt;
  return hit;
}

base::Result<bool> record_hit(Services& s, const TrackingHit& hit, const std::string& ip, const std::string& user_agent) {
  SESAME_ASSIGN(auto msg, s.store.message(hit.message_id));
  if (!msg || msg->account.empty() || msg->mail.empty()) return false;
  const double now = s.clock.now();
  json detail{{"ipAddress", ip}, {"timestamp", base::format_iso8601(now)}, {"userAgent", user_agent.substr(0, 1024)}};
  std::string type = "Open", object = "open";
  if (!hit.open) {
    type = "Click";
    object = "click";
    detail["link"] = hit.link;
    json tags = json::object();
    for (const auto& pair : base::split(hit.link_tags, ';')) {
      const auto colon = pair.find(':');
      if (pair.empty() || colon == std::string::npos) continue;
      tags[pair.substr(0, colon)].push_back(pair.substr(colon + 1));
    }
    detail["linkTags"] = tags;
  }
  // The message's `mail` object is spliced in as stored, like every other event of it.
  const std::string body = "{\"eventType\":\"" + type + "\",\"mail\":" + msg->mail + ",\"" + object +
                           "\":" + detail.dump(-1, ' ', false, json::error_handler_t::replace) + "}";
  SESAME_CHECK(s.store.write([&](store::Txn& t) {
    return t.insert_event(store::EventRecord{msg->account, msg->region, msg->id, type, body, now});
  }));
  return true;
}

}  // namespace sesame::service
