#include "service/documents.hpp"

#include "base/encoding.hpp"

namespace sesame::service {
namespace {
using base::ErrorCode;
store::DocKey key(const Caller& c, const char* kind, const std::string& name) {
  return store::DocKey{c.account_id, c.region, kind, name};
}
base::Result<json> parse(const store::Doc& d) {
  json j = json::parse(d.body, nullptr, false);
  if (j.is_discarded()) return base::make_error(ErrorCode::kInternal, "stored document " + d.name + " is corrupt");
  return j;
}
}  // namespace

base::Result<std::optional<json>> DocTxn::get(const char* kind, const std::string& name) {
  SESAME_ASSIGN(auto doc, t_.get(key(c_, kind, name)));
  if (!doc) return std::optional<json>();
  SESAME_ASSIGN(auto j, parse(*doc));
  return std::optional<json>(std::move(j));
}

base::Status DocTxn::put(const char* kind, const std::string& name, const json& doc) {
  return t_.put(key(c_, kind, name), doc.dump(), now_);
}

base::Result<bool> DocTxn::erase(const char* kind, const std::string& name) { return t_.erase(key(c_, kind, name)); }

base::Status Documents::transact(const Caller& c, const std::function<base::Status(DocTxn&)>& job) {
  pinned_.reset();
  double now = s_.clock.now();
  return s_.store.write([&](store::Txn& t) {
    DocTxn d(t, c, now);
    return job(d);
  });
}

base::Result<std::uint64_t> Documents::version() {
  if (pinned_) return *pinned_;
  return s_.store.config_version();
}

base::Status Documents::pin() {
  SESAME_ASSIGN(auto v, s_.store.config_version());
  pinned_ = v;
  return base::ok_status();
}

base::Result<std::shared_ptr<const json>> Documents::find_shared(const Caller& c, const char* kind, const std::string& name) {
  // The version is read before the document: a write committed in between leaves the entry
  // under the older version, which the next reader no longer serves.
  SESAME_ASSIGN(auto v, version());
  std::string k = c.account_id;
  for (const std::string_view part : {std::string_view(c.region), std::string_view(kind), std::string_view(name)}) {
    k += '\x1f';
    k += part;
  }
  if (auto hit = s_.config.doc(v, k)) return std::shared_ptr<const json>(*hit);
  SESAME_ASSIGN(auto doc, s_.store.get(key(c, kind, name)));
  if (!doc) {
    s_.config.put_doc(v, k, nullptr);
    return std::shared_ptr<const json>();
  }
  SESAME_ASSIGN(auto j, parse(*doc));
  auto shared = std::make_shared<const json>(std::move(j));
  s_.config.put_doc(v, k, shared);
  return shared;
}

base::Result<std::optional<json>> Documents::find(const Caller& c, const char* kind, const std::string& name) {
  SESAME_ASSIGN(auto doc, find_shared(c, kind, name));
  if (!doc) return std::optional<json>();
  return std::optional<json>(*doc);
}

base::Result<std::optional<store::Account>> Documents::account(const std::string& id) {
  SESAME_ASSIGN(auto v, version());
  if (auto hit = s_.config.account(v, id)) return *hit;
  SESAME_ASSIGN(auto a, s_.store.find_account(id));
  s_.config.put_account(v, id, a);
  return a;
}

base::Result<bool> Documents::has_suppressed(const Caller& c) {
  SESAME_ASSIGN(auto v, version());
  const std::string k = c.account_id + '\x1f' + c.region;
  if (auto hit = s_.config.has_suppressed(v, k)) return *hit;
  SESAME_ASSIGN(bool any, s_.store.has_suppressed(c.account_id, c.region));
  s_.config.put_has_suppressed(v, k, any);
  return any;
}

base::Result<json> Documents::require(const Caller& c, const char* kind, const std::string& name,
                                      const std::string& not_found_message) {
  SESAME_ASSIGN(auto doc, find(c, kind, name));
  if (!doc) return base::make_error(ErrorCode::kNotFound, not_found_message, kind);
  return std::move(*doc);
}

base::Status Documents::create(const Caller& c, const char* kind, const std::string& name, const json& doc,
                               const std::string& exists_message) {
  pinned_.reset();
  std::string body = doc.dump();
  double now = s_.clock.now();
  auto st = s_.store.write([&](store::Txn& t) { return t.insert(key(c, kind, name), body, now); });
  if (!st.ok() && st.error().code == ErrorCode::kAlreadyExists)
    return base::make_error(ErrorCode::kAlreadyExists, exists_message, kind);
  return st;
}

base::Result<json> Documents::update(const Caller& c, const char* kind, const std::string& name,
                                     const std::function<base::Status(json&)>& mutate,
                                     const std::string& not_found_message, bool create_if_missing) {
  pinned_.reset();
  json result;
  double now = s_.clock.now();
  auto st = s_.store.write([&](store::Txn& t) -> base::Status {
    SESAME_ASSIGN(auto existing, t.get(key(c, kind, name)));
    json doc = json::object();
    if (existing) {
      SESAME_ASSIGN(doc, parse(*existing));
    } else if (!create_if_missing) {
      return base::make_error(ErrorCode::kNotFound, not_found_message, kind);
    }
    SESAME_CHECK(mutate(doc));
    SESAME_CHECK(t.put(key(c, kind, name), doc.dump(), now));
    result = std::move(doc);
    return base::ok_status();
  });
  if (!st.ok()) return st.error();
  return result;
}

base::Result<bool> Documents::erase(const Caller& c, const char* kind, const std::string& name) {
  pinned_.reset();
  bool erased = false;
  auto st = s_.store.write([&](store::Txn& t) -> base::Status {
    SESAME_ASSIGN(erased, t.erase(key(c, kind, name)));
    return base::ok_status();
  });
  if (!st.ok()) return st.error();
  return erased;
}

base::Result<std::vector<Named>> Documents::all(const Caller& c, const char* kind) {
  SESAME_ASSIGN(auto docs, s_.store.list(c.account_id, c.region, kind));
  std::vector<Named> out;
  out.reserve(docs.size());
  for (auto& d : docs) {
    SESAME_ASSIGN(auto j, parse(d));
    out.push_back(Named{d.name, std::move(j), d.created});
  }
  return out;
}

base::Result<Documents::Page> Documents::page(const Caller& c, const char* kind, const json& next_token,
                                              std::size_t page_size, const std::function<bool(const Named&)>& filter) {
  std::string after;
  if (next_token.is_string() && !next_token.get<std::string>().empty()) {
    auto decoded = base::base64_decode(next_token.get<std::string>());
    if (!decoded) return base::make_error(ErrorCode::kInvalidParameter, "Invalid NextToken.", "next-token");
    after = *decoded;
  }
  if (page_size == 0) page_size = 1000;
  Page page;
  // Read in chunks until the page is full; filters may skip documents.
  for (;;) {
    SESAME_ASSIGN(auto docs, s_.store.list(c.account_id, c.region, kind, after, page_size + 1));
    for (auto& d : docs) {
      after = d.name;
      SESAME_ASSIGN(auto j, parse(d));
      Named n{d.name, std::move(j), d.created};
      if (filter && !filter(n)) continue;
      if (page.items.size() == page_size) {
        page.next_token = base::base64_encode(page.items.back().name);
        return page;
      }
      page.items.push_back(std::move(n));
    }
    if (docs.size() < page_size + 1) return page;
  }
}

base::Status check_tags(const json& tags) {
  if (!tags.is_array()) return base::ok_status();
  if (tags.size() > 50) return base::make_error(ErrorCode::kInvalidParameter, "Too many tags: at most 50 are allowed.");
  for (const auto& t : tags) {
    std::string k = str(t, "Key"), v = str(t, "Value");
    if (k.empty() || k.size() > 128) return base::make_error(ErrorCode::kInvalidParameter, "Tag keys must be 1 to 128 characters.");
    if (v.size() > 256) return base::make_error(ErrorCode::kInvalidParameter, "Tag values must be at most 256 characters.");
    if (k.rfind("aws:", 0) == 0) return base::make_error(ErrorCode::kInvalidParameter, "Tag keys may not start with 'aws:'.");
  }
  return base::ok_status();
}

json merge_tags(const json& existing, const json& added) {
  json out = existing.is_array() ? existing : json::array();
  if (!added.is_array()) return out;
  for (const auto& t : added) {
    bool replaced = false;
    for (auto& e : out)
      if (e.value("Key", "") == t.value("Key", "")) {
        e["Value"] = t.value("Value", "");
        replaced = true;
      }
    if (!replaced) out.push_back(json{{"Key", t.value("Key", "")}, {"Value", t.value("Value", "")}});
  }
  return out;
}

std::string arn(const Caller& c, const std::string& resource_type, const std::string& name) {
  return "arn:aws:ses:" + c.region + ":" + c.account_id + ":" + resource_type + "/" + name;
}

bool valid_name(const std::string& name, bool allow_dot, bool edges_alnum, std::size_t max) {
  if (name.empty() || name.size() > max) return false;
  auto alnum = [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
  };
  for (char ch : name)
    if (!alnum(ch) && ch != '_' && ch != '-' && !(allow_dot && ch == '.')) return false;
  if (edges_alnum && (!alnum(name.front()) || !alnum(name.back()))) return false;
  return true;
}

std::string str(const json& v, const char* member, const std::string& fallback) {
  auto it = v.find(member);
  if (it == v.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}

bool flag(const json& v, const char* member, bool fallback) {
  auto it = v.find(member);
  if (it == v.end() || !it->is_boolean()) return fallback;
  return it->get<bool>();
}

}  // namespace sesame::service
