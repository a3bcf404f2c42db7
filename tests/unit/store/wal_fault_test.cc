// RocksDB's own WAL write/sync failing under the commit queue (store/fault_fs.h, test builds
// with -Dfault_injection): the failed commit is reported, nothing of it is visible, earlier
// writes stay readable, and the queue refuses writes (ResourceExhausted, kMetaReadOnly) while
// RocksDB has stopped them — until a restart (EIO: fatal) or its recovery (ENOSPC: hard).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/fault.h"
#include "store/commit_queue.h"
#include "store/meta_db.h"
#include "test_util.h"

namespace mamute::store {
namespace {

using testing::TempDir;

class WalFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!core::fault::Compiled()) {
      GTEST_SKIP() << "this build has no fault injection (-Dfault_injection)";
    }
  }
  void TearDown() override {
    queue_.reset();
    db_.reset();
    core::fault::Reset();
  }

  void Open(const std::string& rules) {
    core::fault::Reset();
    ASSERT_TRUE(core::fault::Configure(rules).ok());
    auto db = MetaDb::Open(dir_->path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    queue_ = std::make_unique<CommitQueue>(db_.get());
    ASSERT_TRUE(queue_->Start().ok());
  }
  void Reopen() {
    queue_.reset();
    db_.reset();
    Open("");
  }
  Status Commit(const std::string& key, const std::string& value) {
    MetaBatch b(*db_);
    EXPECT_TRUE(b.Put(Cf::kObjects, key, value).ok());
    return queue_->Write(&b);
  }
  bool Has(const std::string& key, std::string* value = nullptr) {
    std::string v;
    const bool ok = db_->Get(Cf::kObjects, key, &v).ok();
    if (value != nullptr) *value = v;
    return ok;
  }

  std::unique_ptr<TempDir> dir_ = std::make_unique<TempDir>();
  std::unique_ptr<MetaDb> db_;
  std::unique_ptr<CommitQueue> queue_;
};

// Every later commit is refused without reaching RocksDB, by Write(), Enqueue() and a group.
void ExpectReadOnly(MetaDb& db, CommitQueue& q) {
  MetaBatch b(db);
  ASSERT_TRUE(b.Put(Cf::kObjects, "later", "x").ok());
  Status st = q.Write(&b);
  EXPECT_EQ(st.code(), Code::kResourceExhausted) << st.ToString();
  EXPECT_TRUE(st.message().starts_with(kMetaReadOnly)) << st.ToString();
  CommitRequest req(db);
  ASSERT_TRUE(req.batch.Put(Cf::kObjects, "later", "x").ok());
  st = q.Enqueue(&req);
  EXPECT_EQ(st.code(), Code::kResourceExhausted) << st.ToString();
}

struct Case {
  const char* name;
  const char* rules;
  Code code;             // what the failed commit reports
  bool fatal;            // a restart is needed (EIO) vs RocksDB recovers by itself (ENOSPC)
  bool may_surface;      // the batch reached the WAL file: a restart may replay it
};

TEST_F(WalFaultTest, FailedWalWriteOrSyncIsReportedAndNothingPartialIsVisible) {
  const Case cases[] = {
      {"sync EIO", "op=walsync,match=boom", Code::kIoError, true, true},
      {"append EIO", "op=walwrite,match=boom", Code::kIoError, true, false},
      {"sync ENOSPC", "op=walsync,match=boom,errno=ENOSPC", Code::kNoSpace, false, false},
      {"append ENOSPC", "op=walwrite,match=boom,errno=ENOSPC", Code::kNoSpace, false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TearDown();
    dir_ = std::make_unique<TempDir>();
    Open(c.rules);
    ASSERT_TRUE(Commit("keep", "v1").ok());

    Status st = Commit("boom", "v2");
    EXPECT_EQ(st.code(), c.code) << st.ToString();
    EXPECT_FALSE(Has("boom"));
    std::string v;
    EXPECT_TRUE(Has("keep", &v));
    EXPECT_EQ(v, "v1");
    MetaDbHealth h = db_->health();
    EXPECT_GE(h.background_errors, 1u);
    EXPECT_FALSE(h.last_error.empty());

    if (c.fatal) {
      EXPECT_TRUE(db_->WritesStopped());
      EXPECT_TRUE(db_->WritesStoppedFatally());
      ExpectReadOnly(*db_, *queue_);
      EXPECT_FALSE(db_->TryResume().ok());  // RocksDB: only reopening recovers
      EXPECT_TRUE(db_->WritesStopped());
    } else {
      // RocksDB recovers a hard error itself, or the commit thread's DB::Resume does.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (db_->WritesStopped() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      ASSERT_FALSE(db_->WritesStopped());
      EXPECT_GE(db_->health().recoveries, 1u);
      EXPECT_TRUE(Commit("after", "v3").ok());
      EXPECT_FALSE(Has("boom"));
    }

    Reopen();
    EXPECT_TRUE(Has("keep", &v));
    EXPECT_EQ(v, "v1");
    if (Has("boom", &v)) {
      // A failed WAL sync leaves the appended record, which a restart may replay: whole, never
      // in part. The PUT path keeps its data file for exactly this reason.
      EXPECT_TRUE(c.may_surface);
      EXPECT_EQ(v, "v2");
    }
    if (!c.fatal) {
      EXPECT_TRUE(Has("after"));
    }
    EXPECT_FALSE(db_->WritesStopped());
    EXPECT_TRUE(Commit("fresh", "v4").ok());
    EXPECT_TRUE(Has("fresh"));
  }
}

// Requests already queued behind the failing group are refused without a Write (attempted is
// false: the PUT path may delete their data files), and callbacks still run exactly once.
TEST_F(WalFaultTest, QueuedRequestsAreRefusedWithoutAWrite) {
  Open("op=walsync,match=boom");
  CommitRequest fail(*db_), next(*db_);
  ASSERT_TRUE(fail.batch.Put(Cf::kObjects, "boom", "1").ok());
  ASSERT_TRUE(next.batch.Put(Cf::kObjects, "next", "2").ok());
  struct Seen {
    int calls = 0;
    Status st;
  } seen_fail, seen_next;
  auto cb = [](void* ctx, Status st) {
    auto* s = static_cast<Seen*>(ctx);
    ++s->calls;
    s->st = std::move(st);
  };
  fail.callback = cb;
  fail.ctx = &seen_fail;
  next.callback = cb;
  next.ctx = &seen_next;
  // Stop the queue's thread from racing: enqueue both before Start on a fresh queue.
  queue_.reset();
  queue_ = std::make_unique<CommitQueue>(db_.get(), CommitQueueOptions{.max_group_requests = 1});
  ASSERT_TRUE(queue_->Enqueue(&fail).ok());
  ASSERT_TRUE(queue_->Enqueue(&next).ok());
  ASSERT_TRUE(queue_->Start().ok());
  queue_->Stop();
  EXPECT_EQ(seen_fail.calls, 1);
  EXPECT_EQ(seen_next.calls, 1);
  EXPECT_EQ(seen_fail.st.code(), Code::kIoError);
  EXPECT_TRUE(fail.attempted);
  EXPECT_EQ(seen_next.st.code(), Code::kResourceExhausted) << seen_next.st.ToString();
  EXPECT_FALSE(next.attempted);
  EXPECT_FALSE(Has("next"));
}

}  // namespace
}  // namespace mamute::store
