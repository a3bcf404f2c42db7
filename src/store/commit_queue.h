// CommitQueue: group commit of metadata writes (docs/storage.md, "Commit thread").
//
// Shards never call RocksDB's Write() themselves: a synced write costs an fdatasync (~150 µs on
// the target NVMe, milliseconds elsewhere) and would stall the shard's ring loop. Instead a
// shard fills a CommitRequest (a MetaBatch plus a completion callback), Enqueue()s it — a
// short mutex-protected pointer push, never disk I/O — and goes on serving its ring. One commit
// thread takes every request pending at that moment, writes them as ONE rocksdb::WriteBatch
// with WriteOptions::sync = true, and then runs each request's callback on the commit thread.
// N concurrent commits cost one fsync.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mamute/status.h"
#include "store/meta_db.h"

namespace rocksdb {
class Iterator;
struct ReadOptions;
class WriteBatchWithIndex;
}

namespace mamute::store {

class CommitView;

/// Commit-time hook: runs ON THE COMMIT THREAD just before the request's batch joins its group,
/// serialized with every other commit. `view` reads the metadata as it will be once every
/// earlier request (earlier groups and earlier requests of this group) is applied, so a
/// read-check-write is atomic: conditional PUT, learning exactly which record a PUT replaces,
/// tag updates. It may rewrite `batch`. A non-OK return fails this request alone (its batch is
/// not written; the callback gets that status). Must be short: it delays the whole group.
using CommitPrepare = Status (*)(void* ctx, const CommitView& view, MetaBatch* batch);

/// Runs ON THE COMMIT THREAD once the request's batch is durable (OK) or failed. It must be
/// short and must not call back into the queue's Write() (it may Enqueue()). The owner
/// typically posts a message to its shard's ring here.
using CommitCallback = void (*)(void* ctx, Status status);

/// One commit. Owned by the producer (embed it in the per-request state: no allocation per
/// commit), and left untouched from Enqueue() until its callback has run.
struct CommitRequest {
  explicit CommitRequest(const MetaDb& db) : batch(db) {}

  MetaBatch batch;
  CommitCallback callback = nullptr;
  void* ctx = nullptr;
  /// Optional commit-time hook (same ctx as the callback).
  CommitPrepare prepare = nullptr;

  /// Set by the queue before the callback: false when the batch never reached RocksDB (the
  /// prepare hook refused it, or the queue refused the group because RocksDB had stopped
  /// writes), so nothing of it can surface later; true when RocksDB's Write ran (whatever it
  /// returned: a failed WAL sync may still leave the batch in the WAL).
  bool attempted = false;

  // Owned by the queue while enqueued.
  CommitRequest* next_ = nullptr;
  Status result_;  // this request's own failure (prepare or merge), set by the queue
};

/// What a CommitPrepare hook reads: the DB plus the writes of the group being built.
class CommitView {
 public:
  CommitView(const MetaDb& db, rocksdb::WriteBatchWithIndex* group) : db_(db), group_(group) {}
  /// OK with the value; NotFound when absent (or deleted earlier in the group).
  Status Get(Cf cf, std::string_view key, std::string* value) const;
  /// An iterator over `cf` as the view sees it (the DB merged with the group's writes; deleted
  /// keys skipped). `opts` (its iterate_upper_bound too) must outlive the iterator, which must
  /// be gone before the hook returns. For bounded scans only: the hook delays the whole group.
  std::unique_ptr<rocksdb::Iterator> NewIterator(Cf cf, const rocksdb::ReadOptions& opts) const;

  /// Whether the last objects-CF Get through this view was of `key`, and if so whether it
  /// found it (`*found`). The commit queue asks after the prepare hook: a PUT's hook reads the
  /// record it replaces, so the directory index knows whether the key existed before the
  /// request without reading the index (store/dirs.h).
  bool LastObjectsRead(std::string_view key, bool* found) const {
    if (!have_last_ || last_objects_key_ != key) return false;
    *found = last_objects_found_;
    return true;
  }

 private:
  const MetaDb& db_;
  rocksdb::WriteBatchWithIndex* group_;  // null: a lone request, nothing pending
  mutable std::string last_objects_key_;
  mutable bool have_last_ = false;
  mutable bool last_objects_found_ = false;
};

struct CommitQueueOptions {
  /// Requests accepted but not yet completed; Enqueue() beyond it is ResourceExhausted (the
  /// caller sheds load, e.g. 503 SlowDown). Default: 4096.
  std::size_t capacity = 4096;
  /// Most requests merged into one synced write. Default: 1024.
  std::size_t max_group_requests = 1024;
  /// Most batch bytes merged into one synced write; a single larger batch is written alone.
  /// Default: 16 MiB.
  std::size_t max_group_bytes = 16u << 20;
  /// Gathering (docs/storage.md, "Commit thread"): after a synced write, the requests it just
  /// completed usually come back at once (a client's next PUT). When fewer than that many are
  /// pending, the commit thread waits for them up to this long, and never longer than half the
  /// last sync took, so a sync does not leave with half the writers that could share it.
  /// 0 disables. Default: 1000 µs.
  uint32_t max_gather_us = 1000;
  /// Keep the directory index (store/dirs.h) in step with every objects-CF write. Only
  /// store_bench turns it off, to measure what it costs: with false the index goes stale
  /// (fsck --repair rebuilds it). Default: true.
  bool maintain_dirs_index = true;
};

struct CommitQueueStats {
  uint64_t requests = 0;  ///< requests completed (OK or not)
  uint64_t syncs = 0;     ///< synced RocksDB writes (groups)
  uint64_t failed = 0;    ///< requests completed with an error
  uint64_t max_group = 0; ///< largest group so far
  uint64_t gathers = 0;   ///< times the commit thread waited for more requests before a sync
};

class CommitQueue {
 public:
  CommitQueue(MetaDb* db, CommitQueueOptions options = {});
  /// Stop()s: drains everything already enqueued.
  ~CommitQueue();
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  /// Starts the commit thread. Requests enqueued before Start() wait for it (and then commit
  /// as one group).
  Status Start();

  /// Hands `req` to the commit thread. Never blocks on I/O. OK: the callback will run exactly
  /// once, on the commit thread. ResourceExhausted (queue full, or the metadata DB has stopped
  /// writes: the message then starts with kMetaReadOnly) or Cancelled (stopping): the
  /// callback will not run and the request is the caller's again. A group that finds writes
  /// stopped is refused the same way (ResourceExhausted, `attempted` false) without a Write.
  Status Enqueue(CommitRequest* req);

  /// Synchronous commit for management and cold paths: enqueues and waits for durability.
  /// Must not be called from the commit thread (a callback) — that returns Internal.
  /// `prepare` (optional) runs as a CommitPrepare hook with `prepare_ctx`: its failure is
  /// returned and nothing is written.
  Status Write(MetaBatch* batch, CommitPrepare prepare = nullptr, void* prepare_ctx = nullptr);

  /// Refuses new requests, commits every one already accepted, runs their callbacks, joins the
  /// thread. Idempotent.
  void Stop();

  CommitQueueStats stats() const;

 private:
  void Run();
  // While the DB has stopped writes: DB::Resume at most once a second (commit thread, idle).
  void MaybeResume();
  // Commits one group [head, ... ) of at most the option limits; returns the first request not
  // in the group.
  CommitRequest* CommitGroup(CommitRequest* head);

  MetaDb* db_;
  const CommitQueueOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  CommitRequest* head_ = nullptr;  // FIFO list, guarded by mu_
  CommitRequest* tail_ = nullptr;
  std::size_t pending_ = 0;      // requests in the list head_..tail_; guarded by mu_
  std::size_t gather_want_ = 1;  // the commit thread gathers until pending_ reaches it; mu_
  std::size_t pending_at_sync_ = 0;  // pending_ when the last synced write returned; mu_
  std::size_t outstanding_ = 0;  // accepted, callback not yet run; guarded by mu_
  bool stopping_ = false;
  bool started_ = false;
  bool thread_waiting_ = false;  // the commit thread sleeps on cv_; producers notify only then

  std::chrono::steady_clock::time_point next_resume_{};  // commit thread only
  std::vector<std::string> touched_;  // objects keys of the request being merged; commit thread

  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> max_group_{0};
  std::atomic<uint64_t> gathers_{0};
};

}  // namespace mamute::store
