// Resource documents: typed helpers over the store's keyed JSON documents, so each
// resource file reads as SES semantics (load, create, update in place, delete, page).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "service/handler.hpp"
#include "service/services.hpp"

namespace sesame::service {

/// Resource kinds (store document kinds and Error subjects).
namespace kind {
inline constexpr const char* kIdentity = "identity";
inline constexpr const char* kConfigurationSet = "configuration-set";
inline constexpr const char* kTemplate = "template";
inline constexpr const char* kCustomVerificationTemplate = "custom-verification-template";
inline constexpr const char* kRuleSet = "rule-set";
inline constexpr const char* kReceiptFilter = "receipt-filter";
inline constexpr const char* kAccount = "account";
inline constexpr const char* kSnsTopic = "sns-topic";
inline constexpr const char* kSnsSubscription = "sns-subscription";
}  // namespace kind

struct Named {
  std::string name;
  json doc;
  base::EpochSeconds created = 0;
};

/// Documents of one caller inside one store transaction.
class DocTxn {
 public:
  DocTxn(store::Txn& t, const Caller& c, double now) : t_(t), c_(c), now_(now) {}
  base::Result<std::optional<json>> get(const char* kind, const std::string& name);
  base::Status put(const char* kind, const std::string& name, const json& doc);
  base::Result<bool> erase(const char* kind, const std::string& name);
  /// The same transaction, for rows written with the documents (outbox entries).
  store::Txn& txn() { return t_; }
  double now() const { return now_; }

 private:
  store::Txn& t_;
  const Caller& c_;
  double now_;
};

class Documents {
 public:
  /// Runs `job` over several documents atomically (checks that must not interleave with
  /// other writers, such as "not the active rule set" before a delete).
  base::Status transact(const Caller& c, const std::function<base::Status(DocTxn&)>& job);

  explicit Documents(Services& s) : s_(s) {}

  /// The document, or nothing. Served from Services::config while the store's
  /// configuration is unchanged.
  base::Result<std::optional<json>> find(const Caller& c, const char* kind, const std::string& name);
  /// The same without a copy: the cached document itself (nullptr when there is none). The
  /// send path reads several documents per message; copying each cost about 1% of its CPU.
  base::Result<std::shared_ptr<const json>> find_shared(const Caller& c, const char* kind, const std::string& name);
  /// The account record, cached like documents.
  base::Result<std::optional<store::Account>> account(const std::string& id);
  /// Whether the caller's suppression list has any entry, cached like documents (each
  /// change to a list bumps the configuration version).
  base::Result<bool> has_suppressed(const Caller& c);
  /// Reads the configuration version once for the finds that follow (one operation's
  /// consistent view, as a send needs), until this object writes.
  base::Status pin();
  /// The document, or kNotFound with `not_found_message` and the kind as subject.
  base::Result<json> require(const Caller& c, const char* kind, const std::string& name,
                             const std::string& not_found_message);
  /// Inserts; kAlreadyExists (subject = kind) with `exists_message` when present.
  base::Status create(const Caller& c, const char* kind, const std::string& name, const json& doc,
                      const std::string& exists_message);
  /// Read-modify-write in one transaction. `mutate` may fail, leaving nothing changed.
  /// When the document is missing: kNotFound with `not_found_message` (or, when
  /// `create_if_missing`, mutate starts from an empty object).
  base::Result<json> update(const Caller& c, const char* kind, const std::string& name,
                            const std::function<base::Status(json&)>& mutate, const std::string& not_found_message,
                            bool create_if_missing = false);
  base::Result<bool> erase(const Caller& c, const char* kind, const std::string& name);
  base::Result<std::vector<Named>> all(const Caller& c, const char* kind);

  struct Page {
    std::vector<Named> items;
    std::optional<std::string> next_token;
  };
  /// Paging in name order; tokens are opaque (base64 of the last name).
  base::Result<Page> page(const Caller& c, const char* kind, const json& next_token, std::size_t page_size,
                          const std::function<bool(const Named&)>& filter = {});

  Services& services() { return s_; }

 private:
  base::Result<std::uint64_t> version();
  Services& s_;
  std::optional<std::uint64_t> pinned_;
};

/// Tags: [{Key, Value}] lists as in v2 (v1 has none on these resources).
base::Status check_tags(const json& tags);
json merge_tags(const json& existing, const json& added);

/// ARN of an SES resource in the caller's account and region.
std::string arn(const Caller& c, const std::string& resource_type, const std::string& name);

/// Validation of SES names: ASCII letters, digits, '_' and '-' (and '.' when
/// `allow_dot`), at most 64 characters; `edges_alnum` requires letters/digits at both ends.
bool valid_name(const std::string& name, bool allow_dot = false, bool edges_alnum = false, std::size_t max = 64);

/// Member access helpers on request values.
std::string str(const json& v, const char* member, const std::string& fallback = {});
bool flag(const json& v, const char* member, bool fallback);

}  // namespace sesame::service
