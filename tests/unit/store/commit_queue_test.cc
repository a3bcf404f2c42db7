#include "store/commit_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace mamute::store {
namespace {

using testing::TempDir;

// Counts completions; each completion records its status.
struct Counter {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  int failed = 0;
  std::vector<int> order;
};
struct Ctx {
  Counter* counter;
  int id;
};
void OnDone(void* p, Status s) {
  auto* c = static_cast<Ctx*>(p);
  std::lock_guard<std::mutex> lk(c->counter->mu);
  ++c->counter->done;
  if (!s.ok()) {
    ++c->counter->failed;
  }
  c->counter->order.push_back(c->id);
  c->counter->cv.notify_all();
}

std::string Key(int thread, int i) { return "t" + std::to_string(thread) + "/" + std::to_string(i); }

class CommitQueueTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    auto db = MetaDb::Open(dir_.path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
  }
  // Enqueues n requests writing key "k<i>" = "v<i>"; the requests live in `reqs`.
  void EnqueueN(CommitQueue& q, int n, Counter* counter,
                std::deque<CommitRequest>* reqs, std::deque<Ctx>* ctxs) {
    for (int i = 0; i < n; ++i) {
      CommitRequest& r = reqs->emplace_back(*db_);
      Ctx& c = ctxs->emplace_back(Ctx{counter, i});
      ASSERT_TRUE(r.batch.Put(Cf::kObjects, "k" + std::to_string(i), "v" + std::to_string(i)).ok());
      r.callback = &OnDone;
      r.ctx = &c;
      ASSERT_TRUE(q.Enqueue(&r).ok());
    }
  }
  TempDir dir_;
  std::unique_ptr<MetaDb> db_;
};

TEST_F(CommitQueueTest, ManyThreadsAllAcknowledgedWritesSurviveReopen) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  constexpr int kInFlight = 4;  // each producer pipelines a few commits, as a shard would
  {
    CommitQueue q(db_.get());
    ASSERT_TRUE(q.Start().ok());
    std::atomic<int> acked{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Counter counter;
        std::deque<CommitRequest> reqs;
        std::deque<Ctx> ctxs;
        for (int i = 0; i < kPerThread; ++i) {
          {
            std::unique_lock<std::mutex> lk(counter.mu);
            counter.cv.wait(lk, [&] { return i - counter.done < kInFlight; });
          }
          CommitRequest& r = reqs.emplace_back(*db_);
          Ctx& c = ctxs.emplace_back(Ctx{&counter, i});
          ASSERT_TRUE(r.batch.Put(Cf::kObjects, Key(t, i), "value").ok());
          ASSERT_TRUE(r.batch.Put(Cf::kMgmt, Key(t, i), "second cf, same commit").ok());
          r.callback = &OnDone;
          r.ctx = &c;
          Status s;
          while ((s = q.Enqueue(&r)).code() == Code::kResourceExhausted) {
            std::this_thread::yield();
          }
          ASSERT_TRUE(s.ok()) << s.ToString();
        }
        std::unique_lock<std::mutex> lk(counter.mu);
        counter.cv.wait(lk, [&] { return counter.done == kPerThread; });
        EXPECT_EQ(counter.failed, 0);
        // One producer's commits complete in its enqueue order.
        for (int i = 0; i < kPerThread; ++i) {
          EXPECT_EQ(counter.order[static_cast<std::size_t>(i)], i);
        }
        acked += counter.done;
      });
    }
    for (auto& th : threads) {
      th.join();
    }
    q.Stop();
    CommitQueueStats st = q.stats();
    EXPECT_EQ(acked.load(), kThreads * kPerThread);
    EXPECT_EQ(st.requests, static_cast<uint64_t>(kThreads * kPerThread));
    EXPECT_EQ(st.failed, 0u);
    // Group commit: fewer fsyncs than writes.
    EXPECT_LT(st.syncs, st.requests);
    EXPECT_GT(st.max_group, 1u);
    std::printf("group commit: %llu requests in %llu syncs (largest group %llu)\n",
                static_cast<unsigned long long>(st.requests),
                static_cast<unsigned long long>(st.syncs),
                static_cast<unsigned long long>(st.max_group));
  }
  ASSERT_TRUE(db_->Close().ok());
  db_.reset();
  Open();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      std::string v;
      ASSERT_TRUE(db_->Get(Cf::kObjects, Key(t, i), &v).ok()) << Key(t, i);
      ASSERT_TRUE(db_->Get(Cf::kMgmt, Key(t, i), &v).ok()) << Key(t, i);
    }
  }
}

TEST_F(CommitQueueTest, PendingRequestsCoalesceIntoOneSync) {
  CommitQueue q(db_.get());
  Counter counter;
  std::deque<CommitRequest> reqs;
  std::deque<Ctx> ctxs;
  EnqueueN(q, 100, &counter, &reqs, &ctxs);  // before Start: all pending at once
  ASSERT_TRUE(q.Start().ok());
  q.Stop();
  EXPECT_EQ(counter.done, 100);
  EXPECT_EQ(counter.failed, 0);
  EXPECT_EQ(q.stats().syncs, 1u);
  EXPECT_EQ(q.stats().max_group, 100u);
  std::string v;
  ASSERT_TRUE(db_->Get(Cf::kObjects, "k99", &v).ok());
  EXPECT_EQ(v, "v99");
}

TEST_F(CommitQueueTest, GroupLimits) {
  struct Case {
    std::size_t max_requests;
    std::size_t max_bytes;
    uint64_t want_syncs;
  };
  const Case cases[] = {
      {3, 16u << 20, 4},  // 10 requests, 3 a group
      {1024, 1, 10},      // every batch is over the byte limit: one each
      {1, 16u << 20, 10},
  };
  for (const Case& c : cases) {
    CommitQueueOptions o;
    o.max_group_requests = c.max_requests;
    o.max_group_bytes = c.max_bytes;
    CommitQueue q(db_.get(), o);
    Counter counter;
    std::deque<CommitRequest> reqs;
    std::deque<Ctx> ctxs;
    EnqueueN(q, 10, &counter, &reqs, &ctxs);
    ASSERT_TRUE(q.Start().ok());
    q.Stop();
    EXPECT_EQ(counter.done, 10);
    EXPECT_EQ(q.stats().syncs, c.want_syncs) << c.max_requests << "/" << c.max_bytes;
    // Completion order is enqueue order across groups.
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(counter.order[static_cast<std::size_t>(i)], i);
    }
  }
}

TEST_F(CommitQueueTest, FullQueueRefusesWithoutBlocking) {
  CommitQueueOptions o;
  o.capacity = 4;
  CommitQueue q(db_.get(), o);
  Counter counter;
  std::deque<CommitRequest> reqs;
  std::deque<Ctx> ctxs;
  EnqueueN(q, 4, &counter, &reqs, &ctxs);
  CommitRequest extra(*db_);
  EXPECT_EQ(q.Enqueue(&extra).code(), Code::kResourceExhausted);
  q.Stop();  // never started: Stop still completes what it accepted
  EXPECT_EQ(counter.done, 4);
  EXPECT_EQ(counter.failed, 0);
  EXPECT_EQ(q.Enqueue(&extra).code(), Code::kCancelled);
}

TEST_F(CommitQueueTest, StopDrainsAcceptedRequests) {
  CommitQueue q(db_.get());
  ASSERT_TRUE(q.Start().ok());
  Counter counter;
  std::deque<CommitRequest> reqs;
  std::deque<Ctx> ctxs;
  EnqueueN(q, 50, &counter, &reqs, &ctxs);
  q.Stop();
  EXPECT_EQ(counter.done, 50);
  EXPECT_EQ(counter.failed, 0);
  CommitRequest late(*db_);
  EXPECT_EQ(q.Enqueue(&late).code(), Code::kCancelled);
  q.Stop();  // idempotent
}

TEST_F(CommitQueueTest, SynchronousWrite) {
  CommitQueue q(db_.get());
  MetaBatch batch(*db_);
  ASSERT_TRUE(batch.Put(Cf::kCredentials, "AKIA", "secret-record").ok());
  EXPECT_EQ(q.Write(&batch).code(), Code::kFailedPrecondition);  // not started
  ASSERT_TRUE(q.Start().ok());
  ASSERT_TRUE(q.Write(&batch).ok());
  EXPECT_EQ(batch.Count(), 1u);  // the caller's batch comes back unchanged
  std::string v;
  ASSERT_TRUE(db_->Get(Cf::kCredentials, "AKIA", &v).ok());
  EXPECT_EQ(v, "secret-record");
  MetaBatch del(*db_);
  ASSERT_TRUE(del.Delete(Cf::kCredentials, "AKIA").ok());
  ASSERT_TRUE(q.Write(&del).ok());
  EXPECT_EQ(db_->Get(Cf::kCredentials, "AKIA", &v).code(), Code::kNotFound);
  q.Stop();
  EXPECT_EQ(q.Write(&batch).code(), Code::kCancelled);
}

// Gathering waits only for writers a sync just acknowledged that are not back yet: a lone
// writer, whose next commit is already the whole expected group, never waits.
TEST_F(CommitQueueTest, LoneWriterNeverGathers) {
  CommitQueue q(db_.get());
  ASSERT_TRUE(q.Start().ok());
  for (int i = 0; i < 50; ++i) {
    MetaBatch batch(*db_);
    ASSERT_TRUE(batch.Put(Cf::kObjects, Key(0, i), "v").ok());
    ASSERT_TRUE(q.Write(&batch).ok());
  }
  q.Stop();  // the counters are bumped after the callbacks: read them once the thread is done
  const CommitQueueStats st = q.stats();
  EXPECT_EQ(st.requests, 50u);
  EXPECT_EQ(st.syncs, 50u);
  EXPECT_EQ(st.gathers, 0u);
}

struct ReentrantCtx {
  CommitQueue* q;
  MetaDb* db;
  Status write_status;
  Status done_status;
};
void CallsWrite(void* p, Status s) {
  auto* c = static_cast<ReentrantCtx*>(p);
  MetaBatch b(*c->db);
  c->write_status = c->q->Write(&b);
  c->done_status = std::move(s);
}

TEST_F(CommitQueueTest, WriteFromTheCommitThreadIsRefused) {
  CommitQueue q(db_.get());
  ASSERT_TRUE(q.Start().ok());
  ReentrantCtx ctx{&q, db_.get(), Status::Ok(), Status::Ok()};
  CommitRequest r(*db_);
  ASSERT_TRUE(r.batch.Put(Cf::kObjects, "x", "y").ok());
  r.callback = &CallsWrite;
  r.ctx = &ctx;
  ASSERT_TRUE(q.Enqueue(&r).ok());
  q.Stop();
  EXPECT_TRUE(ctx.done_status.ok());
  EXPECT_EQ(ctx.write_status.code(), Code::kInternal);
}

// ---------------------------------------------------------------- commit-time hook

// A request whose prepare hook creates `key` only if it does not exist yet (If-None-Match: *),
// and records what it saw.
struct CreateCtx {
  Counter* counter;
  int id;
  std::string key;
  std::string value;
  std::string seen;  // value read by the hook; empty: absent
};
Status CreateIfAbsent(void* p, const CommitView& view, MetaBatch* batch) {
  auto* c = static_cast<CreateCtx*>(p);
  std::string v;
  Status st = view.Get(Cf::kObjects, c->key, &v);
  if (st.ok()) {
    c->seen = v;
    return Status::FailedPrecondition("exists");
  }
  if (st.code() != Code::kNotFound) {
    return st;
  }
  batch->Clear();
  return batch->Put(Cf::kObjects, c->key, c->value);
}
void OnCreateDone(void* p, Status s) {
  auto* c = static_cast<CreateCtx*>(p);
  Ctx ctx{c->counter, s.ok() ? c->id : -1 - c->id};
  OnDone(&ctx, std::move(s));
}

TEST_F(CommitQueueTest, PrepareSeesEarlierRequestsOfItsGroupAndFailsAlone) {
  CommitQueue q(db_.get());
  Counter counter;
  // All enqueued before Start(): one group. r0 writes "a"; r1 and r2 create "a" if absent (both
  // must see r0's write, not yet in the DB); r3 creates "b" (absent: OK); r4 deletes "b" (plain);
  // r5 creates "b" again and must see r4's delete.
  std::deque<CommitRequest> reqs;
  std::deque<Ctx> ctxs;
  std::deque<CreateCtx> creates;
  CommitRequest& r0 = reqs.emplace_back(*db_);
  ASSERT_TRUE(r0.batch.Put(Cf::kObjects, "a", "r0").ok());
  r0.callback = &OnDone;
  r0.ctx = &ctxs.emplace_back(Ctx{&counter, 0});
  ASSERT_TRUE(q.Enqueue(&r0).ok());
  auto enqueue_create = [&](int id, std::string key) {
    CreateCtx& c = creates.emplace_back(CreateCtx{&counter, id, std::move(key), "r" + std::to_string(id), {}});
    CommitRequest& r = reqs.emplace_back(*db_);
    r.prepare = &CreateIfAbsent;
    r.callback = &OnCreateDone;
    r.ctx = &c;
    ASSERT_TRUE(q.Enqueue(&r).ok());
  };
  enqueue_create(1, "a");
  enqueue_create(2, "a");
  enqueue_create(3, "b");
  CommitRequest& r4 = reqs.emplace_back(*db_);
  ASSERT_TRUE(r4.batch.Delete(Cf::kObjects, "b").ok());
  r4.callback = &OnDone;
  r4.ctx = &ctxs.emplace_back(Ctx{&counter, 4});
  ASSERT_TRUE(q.Enqueue(&r4).ok());
  enqueue_create(5, "b");
  ASSERT_TRUE(q.Start().ok());
  q.Stop();
  EXPECT_EQ(counter.done, 6);
  EXPECT_EQ(counter.failed, 2);
  EXPECT_EQ(counter.order, (std::vector<int>{0, -2, -3, 3, 4, 5}));  // enqueue order
  EXPECT_EQ(creates[0].seen, "r0");
  EXPECT_EQ(creates[1].seen, "r0");
  EXPECT_EQ(q.stats().syncs, 1u);
  std::string v;
  ASSERT_TRUE(db_->Get(Cf::kObjects, "a", &v).ok());
  EXPECT_EQ(v, "r0");
  ASSERT_TRUE(db_->Get(Cf::kObjects, "b", &v).ok());
  EXPECT_EQ(v, "r5");
}

TEST_F(CommitQueueTest, ConcurrentConditionalCreatesExactlyOneWins) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  CommitQueue q(db_.get());
  ASSERT_TRUE(q.Start().ok());
  for (int round = 0; round < kRounds; ++round) {
    Counter counter;
    std::deque<CreateCtx> creates;
    std::deque<CommitRequest> reqs;
    for (int t = 0; t < kThreads; ++t) {
      creates.emplace_back(CreateCtx{&counter, t, "race" + std::to_string(round), "t" + std::to_string(t), {}});
      reqs.emplace_back(*db_);
    }
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        CommitRequest& r = reqs[t];
        r.prepare = &CreateIfAbsent;
        r.callback = &OnCreateDone;
        r.ctx = &creates[t];
        EXPECT_TRUE(q.Enqueue(&r).ok());
      });
    }
    for (auto& th : threads) {
      th.join();
    }
    std::unique_lock<std::mutex> lk(counter.mu);
    counter.cv.wait(lk, [&] { return counter.done == kThreads; });
    EXPECT_EQ(counter.failed, kThreads - 1) << "round " << round;
    int winner = -1;
    for (int id : counter.order) {
      if (id >= 0) {
        winner = id;
      }
    }
    ASSERT_GE(winner, 0);
    std::string v;
    ASSERT_TRUE(db_->Get(Cf::kObjects, "race" + std::to_string(round), &v).ok());
    EXPECT_EQ(v, "t" + std::to_string(winner));
    for (const CreateCtx& c : creates) {
      if (c.id != winner) {
        EXPECT_EQ(c.seen, v);  // each loser saw the winner's value
      }
    }
  }
  q.Stop();
}

}  // namespace
}  // namespace mamute::store
