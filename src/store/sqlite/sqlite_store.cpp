// SQLite engine of the store interface: WAL mode, synchronous=FULL, one writer thread that
// group-commits every job waiting at the time (each in its own savepoint), and a small pool
// of reader connections so reads never wait for a commit.
#include <algorithm>
#include <pthread.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/log.hpp"
#include "store/store.hpp"

namespace sesame::store {
namespace {
using base::Error;
using base::ErrorCode;
using base::Result;
using base::Status;

constexpr std::size_t kMaxJobsPerCommit = 512;
constexpr int kBusyTimeoutMs = 10000;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, production INTEGER NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS access_keys (
  id TEXT PRIMARY KEY, secret TEXT NOT NULL, account_id TEXT NOT NULL REFERENCES accounts(id));
CREATE TABLE IF NOT EXISTS docs (
  account TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
  body TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
  PRIMARY KEY (account, region, kind, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, accepted REAL NOT NULL,
  envelope_from TEXT NOT NULL, rcpt_count INTEGER NOT NULL, meta TEXT NOT NULL, raw BLOB NOT NULL,
  mail TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS messages_by_account_time ON messages(account, region, accepted);
CREATE TABLE IF NOT EXISTS recipients (
  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE, address TEXT NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (message_id, address)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, region TEXT NOT NULL,
  message_id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_message ON events(message_id, seq);
-- Bumped by every write to docs, accounts or the suppression list, by any process (the admin
-- CLI too): readers keep parsed configuration while it is unchanged (one tiny read instead
-- of several).
CREATE TABLE IF NOT EXISTS config_version (id INTEGER PRIMARY KEY CHECK (id = 0), n INTEGER NOT NULL);
INSERT OR IGNORE INTO config_version VALUES (0, 0);
-- The account-level suppression list (SES v2), per account and region.
CREATE TABLE IF NOT EXISTS suppressed (
  account TEXT NOT NULL, region TEXT NOT NULL, address TEXT NOT NULL, reason TEXT NOT NULL,
  updated REAL NOT NULL, message_id TEXT NOT NULL DEFAULT '', feedback_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (account, region, address)) WITHOUT ROWID;
-- Where each event publisher is in the events table (the outbox).
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
-- Webhook deliveries (SNS-style notifications) waiting for their endpoint, FIFO per subscription.
CREATE TABLE IF NOT EXISTS webhooks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, subscription TEXT NOT NULL, endpoint TEXT NOT NULL,
  payload TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS webhooks_by_subscription ON webhooks(subscription, id);
-- No secondary index on docs: every hot lookup uses the primary key, and keys_of_kind (a background
-- sweep) can scan; an index would add pages to every commit.
DROP INDEX IF EXISTS docs_by_kind;
)sql";

// Schema changes after the first release, applied once in order (PRAGMA user_version).
constexpr const char* kMigrations[] = {
    // 1: delivery bookkeeping on recipients (databases made before the delivery engine).
    "ALTER TABLE recipients ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE recipients ADD COLUMN next_attempt REAL NOT NULL DEFAULT 0;"
    // Until then only capture mode accepted mail: what it kept must never be delivered.
    "UPDATE recipients SET state='captured' WHERE state='queued';",
    // 2: the event `mail` object in its own column (not escaped inside meta's JSON).
    "ALTER TABLE messages ADD COLUMN mail TEXT NOT NULL DEFAULT '';",
};

Error db_error(sqlite3* db, const char* what) {
  return base::make_error(ErrorCode::kInternal, std::string(what) + ": " + sqlite3_errmsg(db));
}

/// A connection and its prepared statements. Used by one thread at a time (the writer
/// thread, or whoever borrowed it from the reader pool), so the cache needs no lock.
/// Why cache: preparing costs more than running these one-row statements, and the
/// writer thread, which every commit passes through, is the serial part of the store.
struct Conn {
  sqlite3* db = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> cache;  // keyed by the SQL literal

  explicit Conn(sqlite3* d) : db(d) {}
  ~Conn() {
    for (auto& [sql, stmt] : cache) sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  sqlite3_stmt* prepare(const char* sql) {
    auto it = cache.find(sql);
    if (it != cache.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) return nullptr;
    cache.emplace(sql, stmt);
    return stmt;
  }
};

/// A cached statement in use; reset (and its bindings cleared) on destruction.
class Stmt {
 public:
  Stmt(Conn& c, const char* sql) : db_(c.db), s_(c.prepare(sql)) {}
  ~Stmt() {
    if (s_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool valid() const { return s_ != nullptr; }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, long long v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, std::size_t(sqlite3_column_bytes(s_, col))) : std::string();
  }
  double real(int col) const { return sqlite3_column_double(s_, col); }
  long long integer(int col) const { return sqlite3_column_int64(s_, col); }
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

/// A row of "SELECT id, account, region, accepted, envelope_from, meta, raw, mail FROM messages".
MessageRecord message_row(const Stmt& s) {
  MessageRecord m;
  m.id = s.text(0);
  m.account = s.text(1);
  m.region = s.text(2);
  m.accepted = s.real(3);
  m.envelope_from = s.text(4);
  m.meta = s.text(5);
  m.raw = s.text(6);
  m.mail = s.text(7);
  return m;
}

/// Runs a one-statement command with no result rows through the connection's cache.
Status run(Conn& c, const char* sql) {
  Stmt s(c, sql);
  if (!s.valid() || s.step() != SQLITE_DONE) return db_error(c.db, sql);
  return base::ok_status();
}

Status exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return base::make_error(ErrorCode::kInternal, std::string("sqlite: ") + msg);
  }
  return base::ok_status();
}

int user_version(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  int v = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

/// A new database gets the current schema and skips the migrations; an older one gets
/// the migrations it has not had, each in its own transaction.
Status migrate(sqlite3* db) {
  constexpr int kCurrent = int(std::size(kMigrations));
  // One transaction for the schema, the version check and every migration: a crash leaves
  // the old schema or the new one, and a second process (the CLI) waits, then sees it done.
  SESAME_CHECK(exec(db, "BEGIN IMMEDIATE"));
  auto fail = [&](Status st) {
    (void)exec(db, "ROLLBACK");
    return st;
  };
  bool fresh = true;
  {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name='recipients'", -1, &st, nullptr) == SQLITE_OK)
      fresh = sqlite3_step(st) != SQLITE_ROW;
    sqlite3_finalize(st);
  }
  if (auto st = exec(db, kSchema); !st.ok()) return fail(st);
  const int from = fresh ? 0 : user_version(db);
  for (int v = fresh ? kCurrent : from; v < kCurrent; ++v)
    if (auto st = exec(db, kMigrations[v]); !st.ok()) return fail(st);
  // Written only when it changes: an up-to-date database opens without writing anything
  // (so it still opens, read-only in effect, on a full disk).
  if (from != kCurrent)
    if (auto st = exec(db, ("PRAGMA user_version=" + std::to_string(kCurrent)).c_str()); !st.ok()) return fail(st);
  return exec(db, "COMMIT");
}

Result<sqlite3*> open_connection(const SqliteOptions& o, bool writer) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(o.path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Error e = db_error(db, "open");
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);  // other processes (the CLI) may hold the write lock briefly
  std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;";
  pragmas += o.durable ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=OFF;";
  if (auto s = exec(db, pragmas.c_str()); !s.ok()) {
    sqlite3_close(db);
    return s.error();
  }
  if (writer) {
    // A WAL that grew (a burst, a long reader) is cut back to 64 MB when it starts over.
    (void)exec(db, "PRAGMA journal_size_limit=67108864;");
    // Checkpoints run on their own thread (see Checkpointer), never inside a commit, so a
    // WAL checkpoint's copying and fsyncs do not stall the writers queued behind it.
    (void)exec(db, "PRAGMA wal_autocheckpoint=0;");
    if (auto s = migrate(db); !s.ok()) {
      sqlite3_close(db);
      return s.error();
    }
  }
  return db;
}

Result<std::optional<Doc>> get_doc(Conn& c, const DocKey& k) {
  sqlite3* db = c.db;
  Stmt s(c, "SELECT name, body, created FROM docs WHERE account=? AND region=? AND kind=? AND name=?");
  if (!s.valid()) return db_error(db, "prepare");
  s.bind(1, k.account).bind(2, k.region).bind(3, k.kind).bind(4, k.name);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<Doc>(Doc{s.text(0), s.text(1), s.real(2)});
  if (rc == SQLITE_DONE) return std::optional<Doc>();
  return db_error(db, "get");
}

Result<std::vector<Doc>> list_docs(Conn& c, const std::string& account, const std::string& region,
                                   const std::string& kind, const std::string& after, std::size_t limit) {
  sqlite3* db = c.db;
  Stmt s(c,
         "SELECT name, body, created FROM docs WHERE account=? AND region=? AND kind=? AND name>? "
         "ORDER BY name LIMIT ?");
  if (!s.valid()) return db_error(db, "prepare");
  s.bind(1, account).bind(2, region).bind(3, kind).bind(4, after).bind(5, limit ? (long long)limit : -1LL);
  std::vector<Doc> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(Doc{s.text(0), s.text(1), s.real(2)});
  if (rc != SQLITE_DONE) return db_error(db, "list");
  return out;
}

class SqliteTxn final : public Txn {
 public:
  explicit SqliteTxn(Conn& c) : c_(c), db_(c.db) {}
  /// Every change to configuration (docs, accounts, suppression lists) bumps config_version
  /// in the same transaction, so a rollback undoes the bump with the change.
  Status bump_config() {
    bumped_config_ = true;
    Stmt s(c_, "UPDATE config_version SET n = n + 1 WHERE id = 0");
    if (!s.valid()) return db_error(db_, "prepare");
    if (s.step() != SQLITE_DONE) return db_error(db_, "config version");
    return base::ok_status();
  }
  Result<std::optional<Doc>> get(const DocKey& key) override { return get_doc(c_, key); }
  Status put(const DocKey& k, const std::string& body, base::EpochSeconds now) override {
    Stmt s(c_,
           "INSERT INTO docs(account,region,kind,name,body,created,updated) VALUES(?,?,?,?,?,?,?) "
           "ON CONFLICT(account,region,kind,name) DO UPDATE SET body=excluded.body, updated=excluded.updated");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, k.account).bind(2, k.region).bind(3, k.kind).bind(4, k.name).bind(5, body).bind(6, now).bind(7, now);
    if (s.step() != SQLITE_DONE) return db_error(db_, "put");
    return bump_config();
  }
  Status insert(const DocKey& k, const std::string& body, base::EpochSeconds now) override {
    Stmt s(c_,
           "INSERT INTO docs(account,region,kind,name,body,created,updated) VALUES(?,?,?,?,?,?,?) "
           "ON CONFLICT DO NOTHING");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, k.account).bind(2, k.region).bind(3, k.kind).bind(4, k.name).bind(5, body).bind(6, now).bind(7, now);
    if (s.step() != SQLITE_DONE) return db_error(db_, "insert");
    if (sqlite3_changes(db_) == 0) return base::make_error(ErrorCode::kAlreadyExists, k.name, k.kind);
    return bump_config();
  }
  Result<bool> erase(const DocKey& k) override {
    Stmt s(c_, "DELETE FROM docs WHERE account=? AND region=? AND kind=? AND name=?");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, k.account).bind(2, k.region).bind(3, k.kind).bind(4, k.name);
    if (s.step() != SQLITE_DONE) return db_error(db_, "erase");
    if (sqlite3_changes(db_) == 0) return false;
    SESAME_CHECK(bump_config());
    return true;
  }
  Result<std::vector<Doc>> list(const std::string& account, const std::string& region,
                                const std::string& kind) override {
    return list_docs(c_, account, region, kind, {}, 0);
  }
  Status create_account(const Account& a, const AccessKey& k) override {
    Stmt s(c_, "INSERT INTO accounts(id,name,production,created) VALUES(?,?,?,?)");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, a.id).bind(2, a.name).bind(3, (long long)a.production).bind(4, a.created);
    if (s.step() != SQLITE_DONE) return db_error(db_, "create account");
    Stmt t(c_, "INSERT INTO access_keys(id,secret,account_id) VALUES(?,?,?)");
    if (!t.valid()) return db_error(db_, "prepare");
    t.bind(1, k.id).bind(2, k.secret).bind(3, a.id);
    if (t.step() != SQLITE_DONE) return db_error(db_, "create access key");
    return bump_config();
  }
  Status insert_message(const MessageRecord& m) override {
    Stmt s(c_, "INSERT INTO messages(id,account,region,accepted,envelope_from,rcpt_count,meta,raw,mail) VALUES(?,?,?,?,?,?,?,?,?)");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, m.id).bind(2, m.account).bind(3, m.region).bind(4, m.accepted).bind(5, m.envelope_from)
        .bind(6, (long long)m.recipients.size()).bind(7, m.meta).bind(8, m.raw).bind(9, m.mail);
    if (s.step() != SQLITE_DONE) return db_error(db_, "insert message");
    for (const auto& r : m.recipients) {
      Stmt t(c_, "INSERT OR IGNORE INTO recipients(message_id,address,state) VALUES(?,?,?)");
      if (!t.valid()) return db_error(db_, "prepare");
      t.bind(1, m.id).bind(2, r).bind(3, std::string(m.capture ? state::kCaptured : state::kQueued));
      if (t.step() != SQLITE_DONE) return db_error(db_, "insert recipient");
    }
    return base::ok_status();
  }
  Status insert_event(const EventRecord& e) override {
    Stmt s(c_, "INSERT INTO events(account,region,message_id,type,body,created) VALUES(?,?,?,?,?,?)");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, e.account).bind(2, e.region).bind(3, e.message_id).bind(4, e.type).bind(5, e.body).bind(6, e.created);
    if (s.step() != SQLITE_DONE) return db_error(db_, "insert event");
    return base::ok_status();
  }
  Status suppress(const std::string& account, const std::string& region, const Suppressed& e) override {
    Stmt s(c_,
           "INSERT INTO suppressed(account,region,address,reason,updated,message_id,feedback_id) VALUES(?,?,?,?,?,?,?) "
           "ON CONFLICT(account,region,address) DO UPDATE SET reason=excluded.reason, updated=excluded.updated, "
           "message_id=excluded.message_id, feedback_id=excluded.feedback_id");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, account).bind(2, region).bind(3, e.address).bind(4, e.reason).bind(5, e.updated).bind(6, e.message_id).bind(7, e.feedback_id);
    if (s.step() != SQLITE_DONE) return db_error(db_, "suppress");
    return bump_config();
  }
  Result<bool> unsuppress(const std::string& account, const std::string& region, const std::string& address) override {
    Stmt s(c_, "DELETE FROM suppressed WHERE account=? AND region=? AND address=?");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, account).bind(2, region).bind(3, address);
    if (s.step() != SQLITE_DONE) return db_error(db_, "unsuppress");
    if (sqlite3_changes(db_) == 0) return false;
    SESAME_CHECK(bump_config());
    return true;
  }
  Status insert_webhook(const WebhookDelivery& w) override {
    Stmt s(c_, "INSERT INTO webhooks(subscription, endpoint, payload, created) VALUES(?,?,?,?)");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, w.subscription).bind(2, w.endpoint).bind(3, w.payload).bind(4, w.created);
    if (s.step() != SQLITE_DONE) return db_error(db_, "insert webhook");
    return base::ok_status();
  }
  Status delete_webhook(std::uint64_t id) override {
    Stmt s(c_, "DELETE FROM webhooks WHERE id=?");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, (long long)id);
    if (s.step() != SQLITE_DONE) return db_error(db_, "delete webhook");
    return base::ok_status();
  }
  Status delete_webhooks_of(const std::string& subscription) override {
    Stmt s(c_, "DELETE FROM webhooks WHERE subscription=?");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, subscription);
    if (s.step() != SQLITE_DONE) return db_error(db_, "delete webhooks");
    return base::ok_status();
  }
  Status set_cursor(const std::string& publisher, std::uint64_t seq) override {
    Stmt s(c_, "INSERT INTO cursors(name, seq) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET seq=excluded.seq");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, publisher).bind(2, (long long)seq);
    if (s.step() != SQLITE_DONE) return db_error(db_, "set cursor");
    return base::ok_status();
  }
  Status set_recipients(const std::string& message_id, const std::vector<std::string>& addresses,
                        const std::string& st, int attempts, base::EpochSeconds next_attempt) override {
    for (const auto& a : addresses) {
      Stmt s(c_, "UPDATE recipients SET state=?, attempts=?, next_attempt=? WHERE message_id=? AND address=?");
      if (!s.valid()) return db_error(db_, "prepare");
      s.bind(1, st).bind(2, (long long)attempts).bind(3, next_attempt).bind(4, message_id).bind(5, a);
      if (s.step() != SQLITE_DONE) return db_error(db_, "update recipient");
    }
    return base::ok_status();
  }
  Status set_production(const std::string& id, bool production) override {
    Stmt s(c_, "UPDATE accounts SET production=? WHERE id=?");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, (long long)production).bind(2, id);
    if (s.step() != SQLITE_DONE) return db_error(db_, "set production");
    if (sqlite3_changes(db_) == 0) return base::make_error(ErrorCode::kNotFound, "no account " + id, "account");
    return bump_config();
  }

  /// All messages (empty id) or one, with their recipients (ON DELETE CASCADE).
  Status delete_messages(const std::string& id, std::size_t& n) {
    Stmt s(c_, "DELETE FROM messages WHERE (?1 = '' OR id = ?1)");
    if (!s.valid()) return db_error(db_, "prepare");
    s.bind(1, id);
    if (s.step() != SQLITE_DONE) return db_error(db_, "delete messages");
    n = std::size_t(sqlite3_changes(db_));
    return base::ok_status();
  }

  /// A job of this transaction changed configuration (even one later rolled back).
  bool bumped_config() const { return bumped_config_; }

 private:
  bool bumped_config_ = false;
  Conn& c_;
  sqlite3* db_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(SqliteOptions o, sqlite3* writer) : options_(std::move(o)), writer_(writer), writer_db_(writer) {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "sesame-store");
      writer_loop();
    });
    checkpointer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "sesame-ckpt");
      checkpoint_loop();
    });
  }
  ~SqliteStore() override {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    cv_checkpoint_.notify_all();
    thread_.join();
    checkpointer_.join();
  }

  Result<std::optional<AccessKey>> find_access_key(const std::string& id) override {
    return with_reader([&](Conn& c) -> Result<std::optional<AccessKey>> {
      sqlite3* db = c.db;
      Stmt s(c, "SELECT id, secret, account_id FROM access_keys WHERE id=?");
      if (!s.valid()) return db_error(db, "prepare");
      s.bind(1, id);
      int rc = s.step();
      if (rc == SQLITE_ROW) return std::optional<AccessKey>(AccessKey{s.text(0), s.text(1), s.text(2)});
      if (rc == SQLITE_DONE) return std::optional<AccessKey>();
      return db_error(db, "find access key");
    });
  }
  /// Read from the database at most every kVersionRecheck: every send asks, and a read
  /// transaction costs locks and page reads. This process's own configuration writes
  /// forget the cached value when they commit, before their callers hear of it, so they
  /// are seen at once; another process's (the CLI's) within kVersionRecheck.
  Result<std::uint64_t> config_version() override {
    const auto now = std::chrono::steady_clock::now();
    std::uint64_t generation = 0;
    {
      std::lock_guard lk(version_mu_);
      if (version_known_ && now - version_read_at_ < kVersionRecheck) return version_;
      generation = version_generation_;
    }
    auto v = with_reader([&](Conn& c) -> Result<std::uint64_t> {
      Stmt s(c, "SELECT n FROM config_version WHERE id = 0");
      if (!s.valid()) return db_error(c.db, "prepare");
      if (s.step() != SQLITE_ROW) return db_error(c.db, "config version");
      return std::uint64_t(s.integer(0));
    });
    if (v.ok()) {
      std::lock_guard lk(version_mu_);
      if (generation == version_generation_) {  // no commit of ours forgot it meanwhile
        version_ = v.value();
        version_read_at_ = now;
        version_known_ = true;
      }
    }
    return v;
  }
  Result<std::optional<Account>> find_account(const std::string& id) override {
    return with_reader([&](Conn& c) -> Result<std::optional<Account>> {
      sqlite3* db = c.db;
      Stmt s(c, "SELECT id, name, production, created FROM accounts WHERE id=?");
      if (!s.valid()) return db_error(db, "prepare");
      s.bind(1, id);
      int rc = s.step();
      if (rc == SQLITE_ROW)
        return std::optional<Account>(Account{s.text(0), s.text(1), s.integer(2) != 0, s.real(3)});
      if (rc == SQLITE_DONE) return std::optional<Account>();
      return db_error(db, "find account");
    });
  }
  Result<std::vector<Account>> list_accounts() override {
    return with_reader([&](Conn& c) -> Result<std::vector<Account>> {
      sqlite3* db = c.db;
      Stmt s(c, "SELECT id, name, production, created FROM accounts ORDER BY created");
      if (!s.valid()) return db_error(db, "prepare");
      std::vector<Account> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back(Account{s.text(0), s.text(1), s.integer(2) != 0, s.real(3)});
      if (rc != SQLITE_DONE) return db_error(db, "list accounts");
      return out;
    });
  }
  Result<std::optional<Doc>> get(const DocKey& key) override {
    return with_reader([&](Conn& c) { return get_doc(c, key); });
  }
  Result<std::vector<Doc>> list(const std::string& account, const std::string& region, const std::string& kind,
                                const std::string& after, std::size_t limit) override {
    return with_reader([&](Conn& c) { return list_docs(c, account, region, kind, after, limit); });
  }
  Result<std::vector<DocKey>> keys_of_kind(const std::string& kind) override {
    return with_reader([&](Conn& c) -> Result<std::vector<DocKey>> {
      sqlite3* db = c.db;
      Stmt s(c, "SELECT account, region, name FROM docs WHERE kind=?");
      if (!s.valid()) return db_error(db, "prepare");
      s.bind(1, kind);
      std::vector<DocKey> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back(DocKey{s.text(0), s.text(1), kind, s.text(2)});
      if (rc != SQLITE_DONE) return db_error(db, "keys");
      return out;
    });
  }

  Result<std::uint64_t> recipients_since(const std::string& account, const std::string& region,
                                         base::EpochSeconds since) override {
    return with_reader([&](Conn& c) -> Result<std::uint64_t> {
      sqlite3* db = c.db;
      Stmt s(c, "SELECT COALESCE(SUM(rcpt_count),0) FROM messages WHERE account=? AND region=? AND accepted>?");
      if (!s.valid()) return db_error(db, "prepare");
      s.bind(1, account).bind(2, region).bind(3, since);
      if (s.step() != SQLITE_ROW) return db_error(db, "count recipients");
      return static_cast<std::uint64_t>(s.integer(0));
    });
  }
  Result<std::vector<MessageRecord>> messages(const std::string& envelope_from, std::size_t limit) override {
    return with_reader([&](Conn& c) -> Result<std::vector<MessageRecord>> {
      sqlite3* db = c.db;
      Stmt s(c,
             "SELECT id, account, region, accepted, envelope_from, meta, raw, mail FROM messages "
             "WHERE (?1 = '' OR envelope_from = ?1) ORDER BY accepted LIMIT ?2");
      if (!s.valid()) return db_error(db, "prepare");
      s.bind(1, envelope_from).bind(2, (long long)limit);
      std::vector<MessageRecord> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back(message_row(s));
      if (rc != SQLITE_DONE) return db_error(db, "list messages");
      return out;
    });
  }
  Result<std::size_t> delete_messages(const std::string& id) override {
    std::size_t n = 0;
    auto st = write([&](Txn& t) -> Status {
      auto& txn = static_cast<SqliteTxn&>(t);
      return txn.delete_messages(id, n);
    });
    if (!st.ok()) return st.error();
    return n;
  }
  Result<std::optional<MessageRecord>> message(const std::string& id) override {
    return with_reader([&](Conn& c) -> Result<std::optional<MessageRecord>> {
      sqlite3* db = c.db;
      Stmt s(c, "SELECT id, account, region, accepted, envelope_from, meta, raw, mail FROM messages WHERE id=?");
      if (!s.valid()) return db_error(db, "prepare");
      s.bind(1, id);
      int rc = s.step();
      if (rc == SQLITE_DONE) return std::optional<MessageRecord>();
      if (rc != SQLITE_ROW) return db_error(db, "message");
      return std::optional<MessageRecord>(message_row(s));
    });
  }
  Result<std::vector<PendingRecipient>> pending_recipients() override {
    return with_reader([&](Conn& c) -> Result<std::vector<PendingRecipient>> {
      sqlite3* db = c.db;
      Stmt s(c,
             "SELECT r.message_id, r.address, m.accepted, r.attempts, r.next_attempt FROM recipients r "
             "JOIN messages m ON m.id = r.message_id WHERE r.state IN ('queued','deferred') ORDER BY m.accepted");
      if (!s.valid()) return db_error(db, "prepare");
      std::vector<PendingRecipient> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW)
        out.push_back(PendingRecipient{s.text(0), s.text(1), s.real(2), int(s.integer(3)), s.real(4)});
      if (rc != SQLITE_DONE) return db_error(db, "pending recipients");
      return out;
    });
  }
  Result<std::vector<EventCount>> event_counts(const std::string& account, const std::string& region,
                                               base::EpochSeconds since) override {
    return with_reader([&](Conn& c) -> Result<std::vector<EventCount>> {
      sqlite3* db = c.db;
      Stmt s(c,
             "SELECT CAST(created / 900 AS INTEGER) * 900, type, COUNT(*) FROM events "
             "WHERE account=? AND region=? AND created>=? GROUP BY 1, 2 ORDER BY 1");
      if (!s.valid()) return db_error(db, "prepare");
      s.bind(1, account).bind(2, region).bind(3, since);
      std::vector<EventCount> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW)
        out.push_back(EventCount{s.real(0), s.text(1), static_cast<std::uint64_t>(s.integer(2))});
      if (rc != SQLITE_DONE) return db_error(db, "event counts");
      return out;
    });
  }
  Result<std::vector<ReputationCount>> reputation_counts(const std::string& account, const std::string& region,
                                                         base::EpochSeconds since,
                                                         const std::string& exclude_domain) override {
    return with_reader([&](Conn& c) -> Result<std::vector<ReputationCount>> {
      Stmt s(c,
             "SELECT COALESCE(json_extract(body, '$.mail.tags.\"ses:configuration-set\"[0]'), ''), type, COUNT(*) "
             "FROM events WHERE account=? AND region=? AND created>=? AND type IN ('Delivery','Bounce','Complaint') "
             "AND NOT (type='Bounce' AND (json_extract(body, '$.bounce.bounceType') <> 'Permanent' OR "
             "json_extract(body, '$.bounce.bounceSubType') IN ('OnAccountSuppressionList','Suppressed'))) "
             "AND lower(COALESCE(json_extract(body, '$.delivery.recipients[0]'), "
             "json_extract(body, '$.bounce.bouncedRecipients[0].emailAddress'), "
             "json_extract(body, '$.complaint.complainedRecipients[0].emailAddress'), '')) NOT LIKE ? "
             "GROUP BY 1, 2");
      if (!s.valid()) return db_error(c.db, "prepare");
      s.bind(1, account).bind(2, region).bind(3, since).bind(4, exclude_domain.empty() ? std::string("\x01") : "%@" + exclude_domain);
      std::vector<ReputationCount> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back(ReputationCount{s.text(0), s.text(1), std::uint64_t(s.integer(2))});
      if (rc != SQLITE_DONE) return db_error(c.db, "reputation counts");
      return out;
    });
  }
  Result<std::vector<std::pair<std::string, std::string>>> active_senders(base::EpochSeconds since) override {
    return with_reader([&](Conn& c) -> Result<std::vector<std::pair<std::string, std::string>>> {
      Stmt s(c, "SELECT DISTINCT account, region FROM events WHERE created>=? AND account<>''");
      if (!s.valid()) return db_error(c.db, "prepare");
      s.bind(1, since);
      std::vector<std::pair<std::string, std::string>> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.emplace_back(s.text(0), s.text(1));
      if (rc != SQLITE_DONE) return db_error(c.db, "active senders");
      return out;
    });
  }
  Result<std::vector<EventRecord>> events_for(const std::string& message_id) override {
    return with_reader([&](Conn& c) -> Result<std::vector<EventRecord>> {
      sqlite3* db = c.db;
      Stmt s(c, "SELECT account, region, message_id, type, body, created FROM events WHERE message_id=? ORDER BY seq");
      if (!s.valid()) return db_error(db, "prepare");
      s.bind(1, message_id);
      std::vector<EventRecord> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW)
        out.push_back(EventRecord{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.real(5), 0});
      if (rc != SQLITE_DONE) return db_error(db, "list events");
      return out;
    });
  }
  Result<std::vector<EventRecord>> events_after(std::uint64_t after, std::size_t limit) override {
    return with_reader([&](Conn& c) -> Result<std::vector<EventRecord>> {
      sqlite3* db = c.db;
      Stmt s(c, "SELECT seq, account, region, message_id, type, body, created FROM events WHERE seq > ? ORDER BY seq LIMIT ?");
      if (!s.valid()) return db_error(db, "prepare");
      s.bind(1, (long long)after).bind(2, (long long)limit);
      std::vector<EventRecord> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW)
        out.push_back(EventRecord{s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.real(6), std::uint64_t(s.integer(0))});
      if (rc != SQLITE_DONE) return db_error(db, "list events");
      return out;
    });
  }
  Result<std::optional<Suppressed>> suppressed(const std::string& account, const std::string& region,
                                               const std::string& address) override {
    SESAME_ASSIGN(auto list, suppressed_among(account, region, {address}));
    if (list.empty()) return std::optional<Suppressed>();
    return std::optional<Suppressed>(std::move(list.front()));
  }
  Result<bool> has_suppressed(const std::string& account, const std::string& region) override {
    return with_reader([&](Conn& c) -> Result<bool> {
      Stmt s(c, "SELECT 1 FROM suppressed WHERE account=? AND region=? LIMIT 1");
      if (!s.valid()) return db_error(c.db, "prepare");
      s.bind(1, account).bind(2, region);
      const int rc = s.step();
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(c.db, "suppressed");
      return rc == SQLITE_ROW;
    });
  }
  Result<std::vector<Suppressed>> suppressed_among(const std::string& account, const std::string& region,
                                                   const std::vector<std::string>& addresses) override {
    return with_reader([&](Conn& c) -> Result<std::vector<Suppressed>> {
      std::vector<Suppressed> out;
      for (const auto& a : addresses) {
        Stmt s(c, "SELECT address, reason, updated, message_id, feedback_id FROM suppressed WHERE account=? AND region=? AND address=?");
        if (!s.valid()) return db_error(c.db, "prepare");
        s.bind(1, account).bind(2, region).bind(3, a);
        int rc = s.step();
        if (rc == SQLITE_ROW) out.push_back(Suppressed{s.text(0), s.text(1), s.real(2), s.text(3), s.text(4)});
        else if (rc != SQLITE_DONE) return db_error(c.db, "suppressed");
      }
      return out;
    });
  }
  Result<std::vector<Suppressed>> list_suppressed(const std::string& account, const std::string& region,
                                                  const std::vector<std::string>& reasons, double start, double end,
                                                  const std::string& after, std::size_t limit) override {
    return with_reader([&](Conn& c) -> Result<std::vector<Suppressed>> {
      Stmt s(c,
             "SELECT address, reason, updated, message_id, feedback_id FROM suppressed WHERE account=? AND region=? "
             "AND address > ? AND updated >= ? AND updated <= ? ORDER BY address");
      if (!s.valid()) return db_error(c.db, "prepare");
      s.bind(1, account).bind(2, region).bind(3, after).bind(4, start).bind(5, end);
      std::vector<Suppressed> out;
      int rc;
      while (out.size() < limit && (rc = s.step()) == SQLITE_ROW) {
        Suppressed e{s.text(0), s.text(1), s.real(2), s.text(3), s.text(4)};
        if (reasons.empty() || std::find(reasons.begin(), reasons.end(), e.reason) != reasons.end()) out.push_back(std::move(e));
      }
      return out;
    });
  }
  Result<std::vector<std::pair<std::string, std::uint64_t>>> cursors() override {
    return with_reader([&](Conn& c) -> Result<std::vector<std::pair<std::string, std::uint64_t>>> {
      Stmt s(c, "SELECT name, seq FROM cursors ORDER BY name");
      if (!s.valid()) return db_error(c.db, "prepare");
      std::vector<std::pair<std::string, std::uint64_t>> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.emplace_back(s.text(0), std::uint64_t(s.integer(1)));
      if (rc != SQLITE_DONE) return db_error(c.db, "cursors");
      return out;
    });
  }
  Result<std::vector<std::string>> webhook_subscriptions() override {
    return with_reader([&](Conn& c) -> Result<std::vector<std::string>> {
      Stmt s(c, "SELECT DISTINCT subscription FROM webhooks ORDER BY subscription");
      if (!s.valid()) return db_error(c.db, "prepare");
      std::vector<std::string> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
      if (rc != SQLITE_DONE) return db_error(c.db, "webhook subscriptions");
      return out;
    });
  }
  Result<std::vector<WebhookDelivery>> webhooks_of(const std::string& subscription, std::uint64_t after,
                                                   std::size_t limit) override {
    return with_reader([&](Conn& c) -> Result<std::vector<WebhookDelivery>> {
      Stmt s(c, "SELECT id, subscription, endpoint, payload, created FROM webhooks WHERE subscription=? AND id>? "
                "ORDER BY id LIMIT ?");
      if (!s.valid()) return db_error(c.db, "prepare");
      s.bind(1, subscription).bind(2, (long long)after).bind(3, (long long)limit);
      std::vector<WebhookDelivery> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW)
        out.push_back(WebhookDelivery{std::uint64_t(s.integer(0)), s.text(1), s.text(2), s.text(3), s.real(4)});
      if (rc != SQLITE_DONE) return db_error(c.db, "webhooks");
      return out;
    });
  }
  Result<std::uint64_t> cursor(const std::string& publisher) override {
    return with_reader([&](Conn& c) -> Result<std::uint64_t> {
      Stmt s(c, "SELECT seq FROM cursors WHERE name = ?");
      if (!s.valid()) return db_error(c.db, "prepare");
      s.bind(1, publisher);
      int rc = s.step();
      if (rc == SQLITE_ROW) return std::uint64_t(s.integer(0));
      if (rc == SQLITE_DONE) return std::uint64_t(0);
      return db_error(c.db, "cursor");
    });
  }

  void expect_writes(int delta) override { upcoming_.fetch_add(delta, std::memory_order_relaxed); }

  void write_async(WriteJob job, std::function<void(Status)> done, Durability durability = Durability::kSynced) override {
    Pending p{std::move(job), {}, std::move(done), durability == Durability::kRelaxed};
    if (!enqueue(p)) p.callback(base::make_error(ErrorCode::kUnavailable, "store is shutting down"));
  }

  Status write(WriteJob job, Durability durability = Durability::kSynced) override {
    Pending p{std::move(job), {}, nullptr, durability == Durability::kRelaxed};
    auto fut = p.done.get_future();
    if (!enqueue(p)) return base::make_error(ErrorCode::kUnavailable, "store is shutting down");
    return fut.get();
  }

 private:
  struct Pending {
    WriteJob job;
    std::promise<Status> done;
    std::function<void(Status)> callback;  // write_async: called instead of fulfilling `done`
    bool relaxed = false;                  // Durability::kRelaxed
    std::chrono::steady_clock::time_point queued_at{};
    void finish(Status s) {
      if (callback) callback(std::move(s));
      else done.set_value(std::move(s));
    }
  };

  /// Queues `p` (moved from only on success) and wakes the writer if it has reason to go:
  /// not for a relaxed job joining others, which waits for a synced one or its hold anyway.
  bool enqueue(Pending& p) {
    bool wake;
    {
      std::lock_guard lk(mu_);
      if (stopping_) return false;
      wake = !p.relaxed || queue_.empty() || queue_.size() + 1 >= kMaxJobsPerCommit;
      if (p.relaxed)
        p.queued_at = std::chrono::steady_clock::now();
      else
        ++synced_queued_;
      queue_.push_back(std::move(p));
    }
    if (wake) cv_.notify_one();
    return true;
  }

  template <class F>
  auto with_reader(F&& f) -> decltype(f(std::declval<Conn&>())) {
    std::unique_ptr<Conn> conn;
    {
      std::lock_guard lk(readers_mu_);
      if (!readers_.empty()) {
        conn = std::move(readers_.back());
        readers_.pop_back();
      }
    }
    if (!conn) {
      auto opened = open_connection(options_, false);
      if (!opened.ok()) return opened.error();
      conn = std::make_unique<Conn>(opened.value());
    }
    auto result = f(*conn);
    std::lock_guard lk(readers_mu_);
    readers_.push_back(std::move(conn));
    return result;
  }

  /// PASSIVE checkpoints from a separate connection: they copy what no reader still needs
  /// and never block writers. Runs every second while commits happen (each checkpoint
  /// costs a DB-file truncate and fsync, and pages rewritten by several commits are copied
  /// once); a final TRUNCATE
  /// checkpoint at shutdown keeps the WAL file small.
  void checkpoint_loop() {
    auto opened = open_connection(options_, false);
    if (!opened.ok()) {
      base::log().error("store checkpointer: {}", opened.error().message);
      return;
    }
    sqlite3* db = opened.value();
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lk(mu_);
        cv_checkpoint_.wait_for(lk, std::chrono::milliseconds(1000), [&] { return stopping_; });
        if (stopping_) break;
      }
      std::uint64_t now = commits_.load();
      if (now == seen) continue;
      seen = now;
      int log_frames = 0, copied = 0;
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied);
      // Under steady writes a passive checkpoint never catches up (the writer appends while
      // it copies), so SQLite never starts the WAL over and it grows without end: hundreds
      // of MB within a minute, each append allocating blocks that every fdatasync must then
      // journal. The writer thread finishes the job between two commits (restart_wal).
      if (log_frames >= kRestartFrames) restart_wal_.store(true);
    }
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    sqlite3_close(db);
  }

  void writer_loop() {
    for (;;) {
      std::vector<Pending> batch;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) return;
        // Relaxed writes alone wait for a synced one to ride along with (under load one comes
        // within a millisecond): a commit of their own would write the same shared pages
        // (database header, sequence, index and last leaf pages) once more.
        if (synced_queued_ == 0 && !stopping_)
          cv_.wait_until(lk, queue_.front().queued_at + kRelaxedHold,
                         [&] { return stopping_ || synced_queued_ > 0 || queue_.size() >= kMaxJobsPerCommit; });
        if (options_.commit_delay_us > 0 && upcoming_.load(std::memory_order_relaxed) > 0 && !stopping_ &&
            queue_.size() < kMaxJobsPerCommit) {
          // A plain sleep, not a wait on cv_: every enqueue would wake the writer early.
          lk.unlock();
          std::this_thread::sleep_for(std::chrono::microseconds(options_.commit_delay_us));
          lk.lock();
        }
        while (!queue_.empty() && batch.size() < kMaxJobsPerCommit) {
          if (!queue_.front().relaxed) --synced_queued_;
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      commit_batch(batch);
      if (restart_wal_.exchange(false)) restart_wal();
    }
  }

  /// Copies what the last passive checkpoint left (the frames appended while it ran) and
  /// waits for readers still on the old log, so that the next commit writes the WAL from
  /// its beginning again, over blocks already allocated. Runs between two commits, so it
  /// never waits for a writer; it waits for readers 2 ms at most (else the next checkpoint
  /// tries again).
  void restart_wal() {
    // Readers hold their snapshot for microseconds: poll every 50 us (SQLite's own busy
    // handler sleeps 1 ms, then 2, then 5), for 2 ms at most.
    sqlite3_busy_handler(
        writer_db_,
        [](void*, int tries) -> int {
          if (tries >= 40) return 0;
          std::this_thread::sleep_for(std::chrono::microseconds(50));
          return 1;
        },
        nullptr);
    sqlite3_wal_checkpoint_v2(writer_db_, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
    sqlite3_busy_timeout(writer_db_, kBusyTimeoutMs);
  }

  // Why savepoints: one job's failure (AlreadyExists, say) must not undo the others that
  // share this commit, and the fsync happens once for all of them at COMMIT.
  void commit_batch(std::vector<Pending>& batch) {
    std::vector<Status> results;
    results.reserve(batch.size());
    // A batch of relaxed writes only commits without an fsync (synchronous=NORMAL: in WAL
    // mode the log is synced by the next FULL commit or by the checkpointer before it copies
    // anything). The level can only change outside a transaction.
    const bool relaxed = options_.durable && std::all_of(batch.begin(), batch.end(), [](const Pending& p) { return p.relaxed; });
    if (options_.durable && relaxed != relaxed_now_ &&
        exec(writer_db_, relaxed ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL").ok())
      relaxed_now_ = relaxed;
    if (relaxed_now_ && !relaxed) {  // could not go back to FULL: fail rather than under-promise
      Status e = base::make_error(ErrorCode::kInternal, "store: cannot restore synchronous=FULL");
      for (auto& p : batch) p.finish(e);
      return;
    }
    Status begin = run(writer_, "BEGIN IMMEDIATE");
    if (!begin.ok()) {
      for (auto& p : batch) p.finish(begin.error());
      return;
    }
    SqliteTxn txn(writer_);
    std::size_t first = 0;  // first job of the transaction now open
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& p = batch[i];
      Status sp = run(writer_, "SAVEPOINT job");
      Status r = sp.ok() ? base::make_error(ErrorCode::kInternal, "job threw") : sp;
      if (sp.ok()) {
        try {
          r = p.job(txn);
        } catch (const std::exception& e) {
          r = base::make_error(ErrorCode::kInternal, std::string("write job failed: ") + e.what());
        }
        if (!r.ok()) (void)run(writer_, "ROLLBACK TO job");
        (void)run(writer_, "RELEASE job");
      }
      results.push_back(std::move(r));
      if (sqlite3_get_autocommit(writer_db_)) {
        // SQLite rolled the whole transaction back itself (disk full, I/O error): the
        // jobs before this one are undone too. Report them failed and go on in a new one.
        Status gone = base::make_error(ErrorCode::kInternal, std::string("transaction rolled back: ") + sqlite3_errmsg(writer_db_));
        for (std::size_t j = first; j <= i; ++j)
          if (results[j].ok()) results[j] = gone;
        first = i + 1;
        if (first < batch.size()) {
          Status again = run(writer_, "BEGIN IMMEDIATE");
          if (!again.ok()) {
            for (std::size_t j = first; j < batch.size(); ++j) results.push_back(again.error());
            for (std::size_t j = 0; j < batch.size(); ++j) batch[j].finish(std::move(results[j]));
            return;
          }
        }
      }
    }
    if (first == batch.size()) {  // nothing left open to commit
      for (std::size_t j = 0; j < batch.size(); ++j) batch[j].finish(std::move(results[j]));
      return;
    }
    Status commit = run(writer_, "COMMIT");
    if (!commit.ok()) {
      base::log().error("store commit failed: {}", commit.error().message);
      (void)exec(writer_db_, "ROLLBACK");
      for (std::size_t j = 0; j < batch.size(); ++j) batch[j].finish(j >= first ? Status(commit.error()) : std::move(results[j]));
      return;
    }
    ++commits_;
    if (txn.bumped_config()) {
      std::lock_guard lk(version_mu_);
      version_known_ = false;
      ++version_generation_;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].finish(std::move(results[i]));
  }

  SqliteOptions options_;
  Conn writer_;           // the writer thread's connection (and the destructor's, after it)
  sqlite3* writer_db_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable cv_checkpoint_;
  std::atomic<int> upcoming_{0};  // writes announced by expect_writes, not yet submitted
  bool relaxed_now_ = false;  // the writer connection is at synchronous=NORMAL (writer thread only)
  std::atomic<std::uint64_t> commits_{0};
  // Set by the checkpointer when the WAL has this many frames (4 MB of 4 KB pages) after a
  // passive checkpoint; the writer then restarts it (restart_wal).
  static constexpr int kRestartFrames = 1024;
  std::atomic<bool> restart_wal_{false};
  // config_version() as last read (see there).
  static constexpr std::chrono::milliseconds kVersionRecheck{5};
  std::mutex version_mu_;
  bool version_known_ = false;
  std::uint64_t version_ = 0;
  std::uint64_t version_generation_ = 0;  // bumped by each commit that changed configuration
  std::chrono::steady_clock::time_point version_read_at_;
  std::thread checkpointer_;
  std::deque<Pending> queue_;
  std::size_t synced_queued_ = 0;  // jobs in queue_ that are not relaxed
  // How long a relaxed write waits for a synced one to share its commit, at most.
  static constexpr std::chrono::milliseconds kRelaxedHold{20};
  bool stopping_ = false;
  std::thread thread_;
  std::mutex readers_mu_;
  std::vector<std::unique_ptr<Conn>> readers_;
};
}  // namespace

Result<std::unique_ptr<Store>> open_sqlite(const SqliteOptions& options) {
  auto db = open_connection(options, true);
  if (!db.ok()) return db.error();
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(options, db.value()));
}

}  // namespace sesame::store
