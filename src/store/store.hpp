// The storage interface. Configuration resources are small JSON documents in one keyed
// space (account, region, kind, name), so a new resource kind needs no schema; accounts
// and access keys have their own records. No SQL leaves this room.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"

namespace sesame::store {

struct Account {
  std::string id;  // 12 digits
  std::string name;
  bool production = false;
  base::EpochSeconds created = 0;
};

struct AccessKey {
  std::string id;  // AKIA...
  std::string secret;
  std::string account_id;
};

struct DocKey {
  std::string account;
  std::string region;
  std::string kind;  // "identity", "template", "configuration-set", ...
  std::string name;
};

struct Doc {
  std::string name;
  std::string body;  // JSON text
  base::EpochSeconds created = 0;
};

/// An accepted message: the bytes to deliver (signed), its envelope and the metadata the
/// capture view and events need. One recipient row per envelope recipient.
struct MessageRecord {
  std::string id;  // SES message id
  std::string account;
  std::string region;
  base::EpochSeconds accepted = 0;
  std::string envelope_from;
  std::vector<std::string> recipients;
  std::string meta;  // JSON
  std::string raw;   // the message as it will be sent
  /// Capture mode: recipients start as 'captured' (never delivered) instead of 'queued'.
  bool capture = false;
  std::string mail;  // the SES event `mail` object (JSON text), spliced into every event
};

/// Recipient states (ARCHITECTURE.md decision 5). Final: delivered, bounced, captured.
namespace state {
inline constexpr const char* kQueued = "queued";
inline constexpr const char* kDeferred = "deferred";
inline constexpr const char* kDelivered = "delivered";
inline constexpr const char* kBounced = "bounced";
inline constexpr const char* kCaptured = "captured";
}  // namespace state

/// A recipient still to deliver (queued or deferred), for the scheduler's recovery.
struct PendingRecipient {
  std::string message_id;
  std::string address;
  base::EpochSeconds accepted = 0;
  int attempts = 0;
  base::EpochSeconds next_attempt = 0;
};

/// Events of one type in one 15-minute interval (GetSendStatistics).
struct EventCount {
  base::EpochSeconds interval_start = 0;
  std::string type;
  std::uint64_t count = 0;
};

struct EventRecord {
  std::string account;
  std::string region;
  std::string message_id;
  std::string type;  // "Send", "Delivery", ...
  std::string body;  // JSON record in SES's event format
  base::EpochSeconds created = 0;
  std::uint64_t seq = 0;  // set when read back: the outbox order
};

/// Events that count toward reputation (Delivery, hard Bounce, Complaint) by configuration
/// set ("" for none) and type.
struct ReputationCount {
  std::string configuration_set;
  std::string type;
  std::uint64_t count = 0;
};

/// An address on an account's suppression list (per account and region, as in SES v2).
struct Suppressed {
  std::string address;  // lower-case
  std::string reason;   // BOUNCE | COMPLAINT
  base::EpochSeconds updated = 0;
  std::string message_id, feedback_id;  // what put it there, when known
};

/// A webhook delivery waiting in its outbox (SNS-style HTTP notifications): delivered in
/// id order per subscription, deleted once the endpoint took it.
struct WebhookDelivery {
  std::uint64_t id = 0;        // assigned on insert; the order within a subscription
  std::string subscription;    // subscription ARN
  std::string endpoint;        // URL
  std::string payload;         // what the events room sends (JSON)
  base::EpochSeconds created = 0;
};

/// Writes inside one group-committed transaction. A failed job's changes are rolled back
/// (savepoint) without touching the other jobs of the same commit.
class Txn {
 public:
  virtual ~Txn() = default;
  virtual base::Result<std::optional<Doc>> get(const DocKey& key) = 0;
  /// Inserts or replaces; `created` is kept on replace.
  virtual base::Status put(const DocKey& key, const std::string& body, base::EpochSeconds now) = 0;
  /// Inserts; kAlreadyExists if present.
  virtual base::Status insert(const DocKey& key, const std::string& body, base::EpochSeconds now) = 0;
  /// true when a document was removed.
  virtual base::Result<bool> erase(const DocKey& key) = 0;
  virtual base::Result<std::vector<Doc>> list(const std::string& account, const std::string& region,
                                              const std::string& kind) = 0;
  virtual base::Status create_account(const Account& account, const AccessKey& key) = 0;
  virtual base::Status set_production(const std::string& account_id, bool production) = 0;
  /// The message and one queued row per recipient.
  virtual base::Status insert_message(const MessageRecord& message) = 0;
  virtual base::Status insert_event(const EventRecord& event) = 0;
  /// Moves recipients of one message to `state` (see store::state) after an attempt.
  virtual base::Status set_recipients(const std::string& message_id, const std::vector<std::string>& addresses,
                                      const std::string& state, int attempts, base::EpochSeconds next_attempt) = 0;
  /// A publisher's position in the event outbox (the last seq it has published).
  virtual base::Status set_cursor(const std::string& publisher, std::uint64_t seq) = 0;
  /// Adds or replaces an address on the suppression list.
  virtual base::Status suppress(const std::string& account, const std::string& region, const Suppressed& entry) = 0;
  /// true when the address was on the list.
  virtual base::Result<bool> unsuppress(const std::string& account, const std::string& region,
                                        const std::string& address) = 0;
  /// Queues a webhook delivery (its id is assigned here).
  virtual base::Status insert_webhook(const WebhookDelivery& delivery) = 0;
  /// Removes one delivery (done, or given up).
  virtual base::Status delete_webhook(std::uint64_t id) = 0;
  /// Removes every delivery still queued for a subscription (it was deleted).
  virtual base::Status delete_webhooks_of(const std::string& subscription) = 0;
};

using WriteJob = std::function<base::Status(Txn&)>;

class Store {
 public:
  virtual ~Store() = default;

  virtual base::Result<std::optional<AccessKey>> find_access_key(const std::string& id) = 0;
  virtual base::Result<std::optional<Account>> find_account(const std::string& id) = 0;
  /// Changes whenever documents, accounts or a suppression list change, whoever wrote them
  /// (this process or the admin CLI): what was read at one value is still current while the
  /// value is the same.
  virtual base::Result<std::uint64_t> config_version() = 0;
  virtual base::Result<std::vector<Account>> list_accounts() = 0;

  virtual base::Result<std::optional<Doc>> get(const DocKey& key) = 0;
  /// Documents of one kind ordered by name, starting after `after` (exclusive), at most
  /// `limit` (0 = no limit).
  virtual base::Result<std::vector<Doc>> list(const std::string& account, const std::string& region,
                                              const std::string& kind, const std::string& after = {},
                                              std::size_t limit = 0) = 0;
  /// Every (account, region) that holds documents of `kind`; for background re-checks.
  virtual base::Result<std::vector<DocKey>> keys_of_kind(const std::string& kind) = 0;

  /// Recipients accepted for (account, region) since `since` (the rolling 24-hour quota).
  virtual base::Result<std::uint64_t> recipients_since(const std::string& account, const std::string& region,
                                                       base::EpochSeconds since) = 0;
  /// Accepted messages, newest last; `envelope_from` filters when not empty; at most `limit`.
  virtual base::Result<std::vector<MessageRecord>> messages(const std::string& envelope_from, std::size_t limit) = 0;
  /// Removes messages (all, or the one with `id`) with their recipients; returns how many.
  virtual base::Result<std::size_t> delete_messages(const std::string& id) = 0;
  /// One message with its bytes and metadata (recipients not filled).
  virtual base::Result<std::optional<MessageRecord>> message(const std::string& id) = 0;
  /// Every queued or deferred recipient: what the delivery engine resumes after a restart.
  virtual base::Result<std::vector<PendingRecipient>> pending_recipients() = 0;
  /// Event counts per type and 15-minute interval since `since`.
  virtual base::Result<std::vector<EventCount>> event_counts(const std::string& account, const std::string& region,
                                                             base::EpochSeconds since) = 0;
  /// Reputation's counts since `since`: Delivery events, Permanent bounces other than
  /// suppression-list ones, Complaints; recipients at `exclude_domain` (the mailbox
  /// simulator) left out.
  virtual base::Result<std::vector<ReputationCount>> reputation_counts(const std::string& account,
                                                                       const std::string& region,
                                                                       base::EpochSeconds since,
                                                                       const std::string& exclude_domain) = 0;
  /// Every (account, region) with events since `since`.
  virtual base::Result<std::vector<std::pair<std::string, std::string>>> active_senders(base::EpochSeconds since) = 0;
  /// Events of one message, oldest first.
  virtual base::Result<std::vector<EventRecord>> events_for(const std::string& message_id) = 0;
  /// The outbox: events with seq > `after`, in seq order (the order they were committed
  /// in), at most `limit`.
  virtual base::Result<std::vector<EventRecord>> events_after(std::uint64_t after, std::size_t limit) = 0;
  virtual base::Result<std::optional<Suppressed>> suppressed(const std::string& account, const std::string& region,
                                                             const std::string& address) = 0;
  /// Whether the account's list in `region` has any entry (read once per configuration
  /// version by the send path, which skips the lookups below while it has none).
  virtual base::Result<bool> has_suppressed(const std::string& account, const std::string& region) = 0;
  /// Which of `addresses` (lower-case) are on the list.
  virtual base::Result<std::vector<Suppressed>> suppressed_among(const std::string& account, const std::string& region,
                                                                 const std::vector<std::string>& addresses) = 0;
  /// The list in address order after `after`, filtered by reasons (empty: all) and by the
  /// last update time in [start, end].
  virtual base::Result<std::vector<Suppressed>> list_suppressed(const std::string& account, const std::string& region,
                                                                const std::vector<std::string>& reasons, double start,
                                                                double end, const std::string& after, std::size_t limit) = 0;
  /// A publisher's cursor (0 when it has published nothing yet).
  virtual base::Result<std::uint64_t> cursor(const std::string& publisher) = 0;
  /// Every cursor, by name.
  virtual base::Result<std::vector<std::pair<std::string, std::uint64_t>>> cursors() = 0;
  /// The subscriptions with queued webhook deliveries.
  virtual base::Result<std::vector<std::string>> webhook_subscriptions() = 0;
  /// A subscription's queued deliveries with id > `after`, oldest first, at most `limit`.
  virtual base::Result<std::vector<WebhookDelivery>> webhooks_of(const std::string& subscription, std::uint64_t after,
                                                                 std::size_t limit) = 0;

  /// Announces writes about to be submitted (`delta` > 0: a send is being prepared; < 0:
  /// it was submitted or gave up). While any are announced, a commit waits a little for
  /// them (SqliteOptions::commit_delay_us).
  virtual void expect_writes(int delta) { (void)delta; }
  /// How an asynchronous write reaches the disk. kSynced: like write(), fsynced before
  /// `done`. kRelaxed: committed before `done` (a crash of the process loses nothing: the
  /// WAL is in the page cache), and reaching stable storage with the next synced commit or
  /// checkpoint (within about a second): a power loss may undo it. For records that are
  /// redone when lost, such as delivery outcomes (the recipient is attempted again).
  /// A relaxed write alone waits up to 20 ms for a synced one to share its commit.
  enum class Durability { kSynced, kRelaxed };
  /// Runs `job` in a durable transaction (group commit: many jobs per fsync) and returns
  /// only after the commit reached stable storage (kRelaxed: after the commit), or with the
  /// job's or the commit's error.
  virtual base::Status write(WriteJob job, Durability durability = Durability::kSynced) = 0;
  /// write() without waiting: `done` gets the result on the store's writer thread after
  /// the commit. It must be short and must not call write() (it would wait for itself).
  virtual void write_async(WriteJob job, std::function<void(base::Status)> done,
                           Durability durability = Durability::kSynced) = 0;
};

struct SqliteOptions {
  std::string path;
  bool durable = true;  // synchronous=FULL; tests may relax it
  /// Group commit under load: while writes are announced as coming (Store::expect_writes),
  /// the writer waits this long after the first job of a commit for them to join it (fewer
  /// fsyncs, up to this much more latency per write). Without announced writes it never
  /// waits. 0: never.
  int commit_delay_us = 1000;
};

/// The embedded engine: SQLite in WAL mode, one writer thread batching commits.
base::Result<std::unique_ptr<Store>> open_sqlite(const SqliteOptions& options);

}  // namespace sesame::store
