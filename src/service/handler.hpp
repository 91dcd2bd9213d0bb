// What the protocol layer hands to SES semantics: the authenticated caller and a
// validated request value (JSON keyed by model member names); a handler returns the
// response value or an Error. The table from operation name to handler is explicit.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.hpp"

namespace sesame::service {

using json = nlohmann::json;

struct Caller {
  std::string account_id;
  std::string region;  // from the SigV4 credential scope
  std::string access_key_id;
  std::string source_ip;
};

/// kSns: the SNS-compatible API (Query protocol, SigV4 scope service "sns") that SNS event
/// destinations and webhooks are managed with.
enum class Api { kV1, kV2, kSns };

using Handler = std::function<base::Result<json>(const Caller&, const json& input)>;
/// Gives a handler's answer later: called exactly once, from any thread.
using Respond = std::function<void(base::Result<json>)>;
/// A handler that answers later (a send answers after its durable commit, from the store's
/// writer thread, so no worker thread waits for the fsync). It reads `input` before it
/// returns; it may respond before returning (a refused request).
using AsyncHandler = std::function<void(const Caller&, const json& input, Respond respond)>;

class HandlerTable {
 public:
  /// Registers a handler; registering an operation twice is a bug and aborts.
  void add(Api api, const std::string& operation, Handler handler);
  void add_async(Api api, const std::string& operation, AsyncHandler handler);
  /// An operation has one handler, synchronous or asynchronous: the other finds nothing.
  const Handler* find(Api api, std::string_view operation) const;
  const AsyncHandler* find_async(Api api, std::string_view operation) const;
  std::size_t size(Api api) const { return table(api).size(); }
  template <class F>
  void for_each(Api api, F&& f) const {
    for (const auto& [name, h] : table(api)) f(name);
  }

 private:
  struct Entry {
    Handler sync;
    AsyncHandler async;
  };
  using Table = std::unordered_map<std::string, Entry>;
  void insert(Api api, const std::string& operation, Entry entry);
  const Table& table(Api api) const { return api == Api::kV1 ? v1_ : api == Api::kV2 ? v2_ : sns_; }
  Table& table(Api api) { return api == Api::kV1 ? v1_ : api == Api::kV2 ? v2_ : sns_; }
  Table v1_, v2_, sns_;
};

}  // namespace sesame::service
