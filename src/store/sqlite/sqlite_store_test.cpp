// The SQLite engine: documents, savepoint isolation inside a group commit, paging,
// persistence across reopen, and many concurrent writers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <thread>

#include <sqlite3.h>

#include "store/store.hpp"

namespace sesame::store {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sesame-store-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    auto s = open_sqlite({(dir_ / "t.db").string(), true});
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s.value());
  }
  static DocKey key(const std::string& name) { return DocKey{"111111111111", "us-east-1", "template", name}; }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, InsertGetEraseAndAlreadyExists) {
  ASSERT_TRUE(store_->write([](Txn& t) { return t.insert(key("a"), R"({"x":1})", 10); }).ok());
  auto dup = store_->write([](Txn& t) { return t.insert(key("a"), "{}", 11); });
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, base::ErrorCode::kAlreadyExists);
  auto got = store_->get(key("a"));
  ASSERT_TRUE(got.ok() && got.value());
  EXPECT_EQ(got.value()->body, R"({"x":1})");
  EXPECT_DOUBLE_EQ(got.value()->created, 10);
  ASSERT_TRUE(store_->write([](Txn& t) { return t.put(key("a"), "{}", 20); }).ok());
  EXPECT_DOUBLE_EQ(store_->get(key("a")).value()->created, 10);  // created survives replace
  bool erased = false;
  ASSERT_TRUE(store_->write([&](Txn& t) -> base::Status {
    auto r = t.erase(key("a"));
    erased = r.ok() && r.value();
    return base::ok_status();
  }).ok());
  EXPECT_TRUE(erased);
  EXPECT_FALSE(store_->get(key("a")).value());
}

TEST_F(SqliteStoreTest, FailedJobLeavesNoTrace) {
  auto st = store_->write([](Txn& t) -> base::Status {
    SESAME_CHECK(t.insert(key("half"), "{}", 1));
    return base::make_error(base::ErrorCode::kInvalidParameter, "changed my mind");
  });
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(store_->get(key("half")).value());
}

TEST_F(SqliteStoreTest, ListsInNameOrderWithPaging) {
  for (const char* n : {"c", "a", "b", "d"})
    ASSERT_TRUE(store_->write([&](Txn& t) { return t.insert(key(n), "{}", 1); }).ok());
  auto page = store_->list("111111111111", "us-east-1", "template", "", 2).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].name, "a");
  EXPECT_EQ(page[1].name, "b");
  page = store_->list("111111111111", "us-east-1", "template", "b", 0).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].name, "c");
  EXPECT_TRUE(store_->list("111111111111", "eu-west-1", "template").value().empty());
}

TEST_F(SqliteStoreTest, SurvivesReopenAndKeepsAccounts) {
  Account a{"123456789012", "n", false, 5};
  AccessKey k{"AKIAEXAMPLE", "secret", a.id};
  ASSERT_TRUE(store_->write([&](Txn& t) { return t.create_account(a, k); }).ok());
  ASSERT_TRUE(store_->write([](Txn& t) { return t.insert(key("kept"), "{}", 1); }).ok());
  reopen();
  EXPECT_TRUE(store_->get(key("kept")).value());
  auto found = store_->find_access_key("AKIAEXAMPLE").value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->account_id, "123456789012");
  ASSERT_TRUE(store_->write([](Txn& t) { return t.set_production("123456789012", true); }).ok());
  EXPECT_TRUE(store_->find_account("123456789012").value()->production);
}

TEST_F(SqliteStoreTest, ConcurrentWritersAllCommit) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string name = std::to_string(t) + "-" + std::to_string(i);
        if (store_->write([&](Txn& tx) { return tx.insert(key(name), "{}", 1); }).ok()) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 400);
  EXPECT_EQ(store_->list("111111111111", "us-east-1", "template").value().size(), 400u);
}

TEST_F(SqliteStoreTest, MessagesQueueRecipientsAndTrackAttempts) {
  MessageRecord m{"m1", "111111111111", "us-east-1", 1000, "a@x.test", {"b@y.test", "c@y.test"}, "{}", "raw", false, "{}"};
  ASSERT_TRUE(store_->write([&](Txn& t) { return t.insert_message(m); }).ok());
  auto pending = store_->pending_recipients();
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending.value().size(), 2u);
  ASSERT_TRUE(store_->write([&](Txn& t) { return t.set_recipients("m1", {"b@y.test"}, state::kDelivered, 1, 1001); }).ok());
  ASSERT_TRUE(store_->write([&](Txn& t) { return t.set_recipients("m1", {"c@y.test"}, state::kDeferred, 1, 1060); }).ok());
  reopen();
  pending = store_->pending_recipients();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending.value().size(), 1u);
  EXPECT_EQ(pending.value()[0].address, "c@y.test");
  EXPECT_EQ(pending.value()[0].attempts, 1);
  EXPECT_EQ(pending.value()[0].next_attempt, 1060);
  auto back = store_->message("m1");
  ASSERT_TRUE(back.ok() && back.value());
  EXPECT_EQ(back.value()->mail, "{}");
  // Captured mail is never pending.
  MessageRecord cap{"m2", "111111111111", "us-east-1", 1000, "a@x.test", {"d@y.test"}, "{}", "raw", true, ""};
  ASSERT_TRUE(store_->write([&](Txn& t) { return t.insert_message(cap); }).ok());
  EXPECT_EQ(store_->pending_recipients().value().size(), 1u);
}

TEST_F(SqliteStoreTest, WriteAsyncCallsBackAfterTheCommit) {
  std::promise<base::Status> done;
  store_->write_async([&](Txn& t) { return t.put(key("async"), "{}", 1); }, [&](base::Status s) { done.set_value(s); });
  auto st = done.get_future().get();
  EXPECT_TRUE(st.ok());
  auto got = store_->get(key("async"));
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got.value().has_value());
}

TEST_F(SqliteStoreTest, RelaxedAndSyncedWritesInterleave) {
  // Relaxed writes commit without their own fsync; synced ones around them still commit
  // (the writer switches the connection's level between transactions), and all survive a
  // reopen (a process restart).
  constexpr int kWrites = 200;
  std::vector<std::promise<base::Status>> done(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    auto job = [i](Txn& t) { return t.put(key("k" + std::to_string(i)), "{}", 1); };
    if (i % 3 == 0) {
      done[i].set_value(store_->write(job));
    } else {
      store_->write_async(job, [&done, i](base::Status s) { done[i].set_value(s); }, Store::Durability::kRelaxed);
    }
  }
  for (auto& d : done) EXPECT_TRUE(d.get_future().get().ok());
  reopen();
  for (int i = 0; i < kWrites; ++i) {
    auto got = store_->get(key("k" + std::to_string(i)));
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got.value().has_value()) << i;
  }
}

/// Transactions committed to the WAL file: frames of the current generation (the header's
/// salts) that carry a commit mark (a database size), read from the file itself.
int commits_in_wal(const std::filesystem::path& wal) {
  FILE* f = std::fopen(wal.c_str(), "rb");
  if (!f) return 0;
  auto be32 = [](const unsigned char* p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
  };
  unsigned char hdr[32];
  int commits = 0;
  if (std::fread(hdr, 1, sizeof hdr, f) == sizeof hdr) {
    const std::uint32_t page_size = be32(hdr + 8);
    std::vector<unsigned char> frame(24 + page_size);
    while (std::fread(frame.data(), 1, frame.size(), f) == frame.size()) {
      if (std::memcmp(frame.data() + 8, hdr + 16, 8) != 0) break;  // an older generation's frame
      if (be32(frame.data() + 4) != 0) ++commits;
    }
  }
  std::fclose(f);
  return commits;
}

TEST_F(SqliteStoreTest, RelaxedWritesShareTheNextSyncedCommit) {
  // A relaxed write (a delivery outcome, an event cursor) does not commit alone while a
  // synced one follows within its hold: each pair below is one transaction, not two. A
  // relaxed write with nothing after it still commits, a little later.
  constexpr int kPairs = 20;
  const auto wal = dir_ / "t.db-wal";
  const int before = commits_in_wal(wal);
  for (int i = 0; i < kPairs; ++i) {
    std::promise<base::Status> relaxed;
    store_->write_async([i](Txn& t) { return t.put(key("r" + std::to_string(i)), "{}", 1); },
                        [&](base::Status s) { relaxed.set_value(s); }, Store::Durability::kRelaxed);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the writer is idle again
    ASSERT_TRUE(store_->write([i](Txn& t) { return t.put(key("s" + std::to_string(i)), "{}", 1); }).ok());
    ASSERT_TRUE(relaxed.get_future().get().ok());
  }
  const int commits = commits_in_wal(wal) - before;
  EXPECT_GE(commits, kPairs);
  // Without the hold each pair takes two; a sleep overshooting the hold on a loaded host may split one.
  EXPECT_LE(commits, kPairs + kPairs / 2);

  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(store_->write([](Txn& t) { return t.put(key("alone"), "{}", 1); }, Store::Durability::kRelaxed).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  reopen();
  for (const char* k : {"r0", "s0", "r19", "s19", "alone"}) {
    auto got = store_->get(key(k));
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got.value().has_value()) << k;
  }
}

TEST_F(SqliteStoreTest, WalStartsOverUnderSteadyWritesAndReads) {
  // A passive checkpoint alone never catches up with a writer that never pauses, and the
  // WAL would grow by every frame written. The store restarts it between commits, so the
  // number of frames in the WAL (mxFrame in the shared WAL index, read from the -shm file
  // without touching the database) drops back while the writer keeps writing and readers
  // keep reading.
  store_.reset();
  auto opened = open_sqlite({(dir_ / "t.db").string(), false});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  store_ = std::move(opened.value());
  const std::string body(4000, 'x');
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::thread reader([&] {
    while (!stop.load()) {
      (void)store_->get(key("k1"));
      ++reads;
    }
  });
  std::atomic<bool> dropped{false};
  std::thread watcher([&] {
    std::uint32_t last = 0;
    while (!stop.load() && !dropped.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      FILE* f = std::fopen((dir_ / "t.db-shm").c_str(), "rb");
      if (!f) continue;
      unsigned char hdr[20] = {};
      const bool got = std::fread(hdr, 1, sizeof hdr, f) == sizeof hdr;
      std::fclose(f);
      if (!got) continue;
      std::uint32_t mx_frame = 0;  // WalIndexHdr.mxFrame: offset 16, native byte order
      std::memcpy(&mx_frame, hdr + 16, sizeof mx_frame);
      if (mx_frame < last) dropped = true;
      last = mx_frame;
    }
  });
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  for (int i = 0; !dropped.load() && std::chrono::steady_clock::now() < until; ++i)
    ASSERT_TRUE(store_->write([&](Txn& t) { return t.put(key("k" + std::to_string(i % 5000)), body, 1); }).ok());
  stop = true;
  reader.join();
  watcher.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_TRUE(dropped.load()) << "the WAL never started over in 6 s of steady writes";
}

TEST_F(SqliteStoreTest, LargeCommitsAndManySmallOnesSurviveAReopen) {
  // A commit of several hundred KB, then many small ones, all read back here and after a
  // reopen.
  const std::string big(4000, 'b');
  ASSERT_TRUE(store_->write([&](Txn& t) -> base::Status {
    for (int i = 0; i < 200; ++i) SESAME_CHECK(t.put(key("big" + std::to_string(i)), big, 1));
    return base::ok_status();
  }).ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store_->write([&](Txn& t) { return t.put(key("s" + std::to_string(i)), "{}", 1); }).ok());
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 200; i += 37) {
      auto got = store_->get(key("big" + std::to_string(i)));
      ASSERT_TRUE(got.ok() && got.value()) << i;
      EXPECT_EQ(got.value()->body, big);
    }
    auto last = store_->get(key("s49"));
    ASSERT_TRUE(last.ok() && last.value());
    reopen();
  }
}

TEST_F(SqliteStoreTest, ConfigVersionSeesOwnWritesAtOnceAndAnotherProcesssSoon) {
  auto before = store_->config_version();
  ASSERT_TRUE(before.ok());
  // A configuration write of this store: seen by the very next read, cache or not.
  ASSERT_TRUE(store_->write([](Txn& t) { return t.put(key("mine"), "{}", 1); }).ok());
  auto mine = store_->config_version();
  ASSERT_TRUE(mine.ok());
  EXPECT_GT(mine.value(), before.value());
  // Another writer on the same file (as the CLI, in its own process): seen within the
  // recheck interval (5 ms).
  auto other = open_sqlite({(dir_ / "t.db").string(), true});
  ASSERT_TRUE(other.ok()) << other.error().message;
  ASSERT_TRUE(other.value()->write([](Txn& t) { return t.put(key("theirs"), "{}", 2); }).ok());
  std::uint64_t seen = mine.value();
  for (int i = 0; i < 100 && seen == mine.value(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    seen = store_->config_version().value();
  }
  EXPECT_GT(seen, mine.value());
  // A write that is not configuration leaves the version alone.
  ASSERT_TRUE(store_->write([](Txn&) { return base::ok_status(); }).ok());
  EXPECT_EQ(store_->config_version().value(), seen);
}

TEST_F(SqliteStoreTest, SuppressionListChangesBumpTheConfigVersion) {
  // The send path caches per configuration version whether a list has entries: every change
  // to a list must move the version, and only a real change.
  auto version = [&] { return store_->config_version().value(); };
  const std::uint64_t v0 = version();
  EXPECT_FALSE(store_->has_suppressed("acct", "us-east-1").value());
  ASSERT_TRUE(store_->write([](Txn& t) { return t.suppress("acct", "us-east-1", Suppressed{"a@x.test", "BOUNCE", 1, "", ""}); }).ok());
  const std::uint64_t v1 = version();
  EXPECT_GT(v1, v0);
  EXPECT_TRUE(store_->has_suppressed("acct", "us-east-1").value());
  EXPECT_FALSE(store_->has_suppressed("acct", "eu-west-1").value());
  EXPECT_FALSE(store_->has_suppressed("other", "us-east-1").value());
  bool removed = false;
  ASSERT_TRUE(store_->write([&](Txn& t) -> base::Status {
                      SESAME_ASSIGN(removed, t.unsuppress("acct", "us-east-1", "nobody@x.test"));
                      return base::ok_status();
                    }).ok());
  EXPECT_FALSE(removed);
  EXPECT_EQ(version(), v1);  // nothing changed
  ASSERT_TRUE(store_->write([&](Txn& t) -> base::Status {
                      SESAME_ASSIGN(removed, t.unsuppress("acct", "us-east-1", "a@x.test"));
                      return base::ok_status();
                    }).ok());
  EXPECT_TRUE(removed);
  EXPECT_GT(version(), v1);
  EXPECT_FALSE(store_->has_suppressed("acct", "us-east-1").value());
}

TEST_F(SqliteStoreTest, MigratesADatabaseFromBeforeDelivery) {
  // The schema of the first release: recipients without delivery columns, messages without
  // `mail`, user_version 0, and a message accepted in capture mode ('queued' then).
  store_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "t.db").string().c_str(), &db), SQLITE_OK);
  const char* old = R"sql(
    CREATE TABLE messages (id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, accepted REAL NOT NULL,
      envelope_from TEXT NOT NULL, rcpt_count INTEGER NOT NULL, meta TEXT NOT NULL, raw BLOB NOT NULL);
    CREATE TABLE recipients (message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE, address TEXT NOT NULL,
      state TEXT NOT NULL, PRIMARY KEY (message_id, address)) WITHOUT ROWID;
    INSERT INTO messages VALUES('old','111111111111','us-east-1',1,'a@x.test',1,'{}','raw');
    INSERT INTO recipients VALUES('old','b@y.test','queued');)sql";
  ASSERT_EQ(sqlite3_exec(db, old, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  reopen();
  auto pending = store_->pending_recipients();
  ASSERT_TRUE(pending.ok()) << pending.error().message;
  EXPECT_TRUE(pending.value().empty());  // captured then: never delivered now
  auto m = store_->message("old");
  ASSERT_TRUE(m.ok() && m.value());
  EXPECT_EQ(m.value()->mail, "");
  reopen();  // a second open finds nothing left to migrate
  EXPECT_TRUE(store_->pending_recipients().ok());
}

}  // namespace
}  // namespace sesame::store
