#include "store/commit_queue.h"

#include <rocksdb/utilities/write_batch_with_index.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/fault.h"
#include "store/dirs.h"

namespace mamute::store {
namespace {

// Fault injection (test builds, core/fault.h): the keys of a batch, '\n'-separated, as the
// subject a `meta` rule matches against.
class KeysHandler final : public rocksdb::WriteBatch::Handler {
 public:
  std::string keys;
  rocksdb::Status PutCF(uint32_t, const rocksdb::Slice& key, const rocksdb::Slice&) override {
    return Add(key);
  }
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice& key) override { return Add(key); }
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice& key) override { return Add(key); }

 private:
  rocksdb::Status Add(const rocksdb::Slice& key) {
    keys.append(key.data(), key.size()).push_back('\n');
    return rocksdb::Status::OK();
  }
};

// The group's synced write; with fault injection armed, a matching `meta` rule fails it before
// RocksDB sees it (as a WAL write or sync error would: the client must not get an ack).
Status SyncedWrite(MetaDb* db, rocksdb::WriteBatch* wb) {
  if (core::fault::Armed()) [[unlikely]] {
    KeysHandler keys;
    wb->Iterate(&keys).PermitUncheckedError();
    if (const int err = core::fault::Check(core::fault::FileOp::kMeta, keys.keys); err != 0) {
      return Status::IoError(err, "metadata write (injected fault)");
    }
  }
  return db->Write(wb, /*sync=*/true);
}

// Re-applies one producer's batch to the group batch (RocksDB has no public WriteBatch append).
// Only the operations MetaBatch can produce are accepted.
// Also records the objects-CF keys the batch puts or deletes (`touched`): the directory
// index follows them (UpdateDirsForKey). A range delete of objects is refused: the index
// could not follow it key by key.
class CopyHandler final : public rocksdb::WriteBatch::Handler {
 public:
  CopyHandler(const MetaDb& db, rocksdb::WriteBatchBase* dst, std::vector<std::string>* touched)
      : db_(db), dst_(dst), touched_(touched),
        objects_id_(db.handle(Cf::kObjects)->GetID()) {}

  rocksdb::Status PutCF(uint32_t cf_id, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    rocksdb::ColumnFamilyHandle* h = Handle(cf_id);
    Touch(cf_id, key, true);
    return h != nullptr ? dst_->Put(h, key, value) : Unknown();
  }
  rocksdb::Status DeleteCF(uint32_t cf_id, const rocksdb::Slice& key) override {
    rocksdb::ColumnFamilyHandle* h = Handle(cf_id);
    Touch(cf_id, key, false);
    return h != nullptr ? dst_->Delete(h, key) : Unknown();
  }
  rocksdb::Status SingleDeleteCF(uint32_t cf_id, const rocksdb::Slice& key) override {
    rocksdb::ColumnFamilyHandle* h = Handle(cf_id);
    Touch(cf_id, key, false);
    return h != nullptr ? dst_->SingleDelete(h, key) : Unknown();
  }
  rocksdb::Status DeleteRangeCF(uint32_t cf_id, const rocksdb::Slice& begin,
                                const rocksdb::Slice& end) override {
    if (cf_id == objects_id_) {
      return rocksdb::Status::InvalidArgument("commit batch: range delete of objects");
    }
    rocksdb::ColumnFamilyHandle* h = Handle(cf_id);
    return h != nullptr ? dst_->DeleteRange(h, begin, end) : Unknown();
  }
  void LogData(const rocksdb::Slice& blob) override {
    dst_->PutLogData(blob).PermitUncheckedError();
  }

 private:
  rocksdb::ColumnFamilyHandle* Handle(uint32_t cf_id) const {
    Cf cf;
    return db_.CfFromId(cf_id, &cf) ? db_.handle(cf) : nullptr;
  }
  static rocksdb::Status Unknown() {
    return rocksdb::Status::InvalidArgument("commit batch: unknown column family");
  }
  // Each key with a trailing byte: 1 after a Put, 0 after a delete (the key's state once
  // this op applied, so UpdateDirsForKey needs no read of the objects CF for it).
  void Touch(uint32_t cf_id, const rocksdb::Slice& key, bool put) {
    if (cf_id == objects_id_ && touched_ != nullptr) {
      touched_->emplace_back(key.data(), key.size());
      touched_->back().push_back(put ? '\1' : '\0');
    }
  }

  const MetaDb& db_;
  rocksdb::WriteBatchBase* dst_;
  std::vector<std::string>* touched_;
  uint32_t objects_id_;
};

// Whether a batch puts or deletes any objects-CF key (the lone-request fast path skips the
// directory index only when it does not).
class TouchesObjects final : public rocksdb::WriteBatch::Handler {
 public:
  explicit TouchesObjects(uint32_t objects_id) : objects_id_(objects_id) {}
  bool found = false;
  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Note(cf);
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice&) override { return Note(cf); }
  rocksdb::Status SingleDeleteCF(uint32_t cf, const rocksdb::Slice&) override { return Note(cf); }
  rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Note(cf);
  }
  bool Continue() override { return !found; }

 private:
  rocksdb::Status Note(uint32_t cf) {
    found = found || cf == objects_id_;
    return rocksdb::Status::OK();
  }
  uint32_t objects_id_;
};

struct SyncWaiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  CommitPrepare prepare = nullptr;  // the caller's hook and its ctx (Write with a prepare)
  void* prepare_ctx = nullptr;
};

Status SyncWaiterPrepare(void* ctx, const CommitView& view, MetaBatch* batch) {
  auto* w = static_cast<SyncWaiter*>(ctx);
  return w->prepare(w->prepare_ctx, view, batch);
}

void SyncWaiterDone(void* ctx, Status status) {
  auto* w = static_cast<SyncWaiter*>(ctx);
  std::lock_guard<std::mutex> lk(w->mu);
  w->status = std::move(status);
  w->done = true;
  w->cv.notify_one();  // under the lock: `w` lives on the waiter's stack
}

// The status of a commit refused because RocksDB stopped writes (nothing was written).
Status ReadOnlyStatus(const MetaDb& db) {
  return Status::ResourceExhausted(std::string(kMetaReadOnly) +
                                   (db.WritesStoppedFatally()
                                        ? " after a disk error; the server must be restarted"
                                        : " after a disk error; retry later"));
}

bool Touches(const MetaDb& db, MetaBatch& batch) {
  TouchesObjects t(db.handle(Cf::kObjects)->GetID());
  batch.rep()->Iterate(&t).PermitUncheckedError();
  return t.found;
}

}  // namespace

Status CommitView::Get(Cf cf, std::string_view key, std::string* value) const {
  rocksdb::ReadOptions ro;
  const rocksdb::Slice k(key.data(), key.size());
  rocksdb::Status s =
      group_ != nullptr
          ? group_->GetFromBatchAndDB(db_.db(), ro, db_.handle(cf), k, value)
          : db_.db()->Get(ro, db_.handle(cf), k, value);
  if (cf == Cf::kObjects) {
    have_last_ = s.ok() || s.IsNotFound();
    last_objects_key_.assign(key);
    last_objects_found_ = s.ok();
  }
  return s.ok() ? Status::Ok() : FromRocks(s, "commit view read");
}

std::unique_ptr<rocksdb::Iterator> CommitView::NewIterator(Cf cf, const rocksdb::ReadOptions& opts) const {
  std::unique_ptr<rocksdb::Iterator> base = db_.NewIterator(cf, opts);
  if (group_ == nullptr) {
    return base;
  }
  // The merged iterator owns the base iterator.
  return std::unique_ptr<rocksdb::Iterator>(
      group_->NewIteratorWithBase(db_.handle(cf), base.release(), &opts));
}

CommitQueue::CommitQueue(MetaDb* db, CommitQueueOptions options)
    : db_(db), options_(options) {}

CommitQueue::~CommitQueue() { Stop(); }

Status CommitQueue::Start() {
  std::lock_guard<std::mutex> lk(mu_);
  if (started_) {
    return Status::FailedPrecondition("commit queue already started");
  }
  if (stopping_) {
    return Status::FailedPrecondition("commit queue stopped");
  }
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

Status CommitQueue::Enqueue(CommitRequest* req) {
  req->next_ = nullptr;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) {
      return Status::Cancelled("commit queue is stopping");
    }
    if (db_->WritesStopped()) {
      return ReadOnlyStatus(*db_);
    }
    if (outstanding_ >= options_.capacity) {
      return Status::ResourceExhausted("commit queue full");
    }
    ++outstanding_;
    if (tail_ != nullptr) {
      tail_->next_ = req;
    } else {
      head_ = req;
    }
    tail_ = req;
    ++pending_;
    wake = thread_waiting_ && pending_ >= gather_want_;
  }
  if (wake) {
    cv_.notify_one();
  }
  return Status::Ok();
}

Status CommitQueue::Write(MetaBatch* batch, CommitPrepare prepare, void* prepare_ctx) {
  if (std::this_thread::get_id() == thread_id_.load(std::memory_order_relaxed)) {
    return Status::Internal("CommitQueue::Write called on the commit thread");
  }
  if (db_->WritesStopped()) {
    return ReadOnlyStatus(*db_);
  }
  SyncWaiter waiter;
  CommitRequest req(*db_);
  // The batch travels in the request and comes back unchanged, as with DB::Write.
  std::swap(req.batch, *batch);
  req.callback = &SyncWaiterDone;
  req.ctx = &waiter;
  if (prepare != nullptr) {
    waiter.prepare = prepare;
    waiter.prepare_ctx = prepare_ctx;
    req.prepare = &SyncWaiterPrepare;
  }
  req.next_ = nullptr;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_ || !started_) {
      std::swap(req.batch, *batch);
      return stopping_ ? Status::Cancelled("commit queue is stopping")
                       : Status::FailedPrecondition("commit queue not started");
    }
    // Cold-path callers wait instead of being refused at capacity: they are few and blocked.
    ++outstanding_;
    if (tail_ != nullptr) {
      tail_->next_ = &req;
    } else {
      head_ = &req;
    }
    tail_ = &req;
    ++pending_;
    wake = thread_waiting_ && pending_ >= gather_want_;
  }
  if (wake) {
    cv_.notify_one();
  }
  std::unique_lock<std::mutex> lk(waiter.mu);
  waiter.cv.wait(lk, [&] { return waiter.done; });
  std::swap(req.batch, *batch);
  return std::move(waiter.status);
}

void CommitQueue::Stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) {
    thread_.join();
  }
  // Never started: requests accepted before Start() are still owed their callback.
  CommitRequest* list = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    list = head_;
    head_ = tail_ = nullptr;
    pending_ = 0;
  }
  while (list != nullptr) {
    list = CommitGroup(list);
  }
}

CommitQueueStats CommitQueue::stats() const {
  CommitQueueStats s;
  s.requests = requests_.load(std::memory_order_relaxed);
  s.syncs = syncs_.load(std::memory_order_relaxed);
  s.failed = failed_.load(std::memory_order_relaxed);
  s.max_group = max_group_.load(std::memory_order_relaxed);
  s.gathers = gathers_.load(std::memory_order_relaxed);
  return s;
}

void CommitQueue::MaybeResume() {
  if (!db_->WritesStopped() || db_->WritesStoppedFatally()) {
    return;  // a fatal stop needs a restart; Resume would only return the error again
  }
  const auto now = std::chrono::steady_clock::now();
  if (now < next_resume_) {
    return;
  }
  next_resume_ = now + std::chrono::seconds(1);
  // Busy while RocksDB's own recovery runs; OK once writes are allowed again.
  db_->TryResume().IgnoreError();
}

void CommitQueue::Run() {
  thread_id_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  // The group just synced: its size and how long its sync took steer the gathering below.
  std::size_t last_group = 0;
  std::chrono::steady_clock::duration last_sync{};
  for (;;) {
    CommitRequest* list = nullptr;
    MaybeResume();
    {
      std::unique_lock<std::mutex> lk(mu_);
      gather_want_ = 1;
      while (head_ == nullptr && !stopping_) {
        thread_waiting_ = true;
        if (db_->WritesStopped() && !db_->WritesStoppedFatally()) {
          // Wake up to retry DB::Resume while nothing else happens.
          cv_.wait_for(lk, std::chrono::seconds(1));
          thread_waiting_ = false;
          lk.unlock();
          MaybeResume();
          lk.lock();
          continue;
        }
        cv_.wait(lk);
        thread_waiting_ = false;
      }
      if (head_ == nullptr) {
        break;  // stopping and drained
      }
      // Gather: the requests the last sync completed are on their way back (closed-loop
      // clients issue their next write as soon as they are acknowledged). Taking the list
      // before they arrive splits the writers into two halves that alternate between syncs,
      // each sync carrying half of them. Wait a little for them, bounded by a fraction of the
      // sync time, so a lone writer or an idle queue never waits.
      const auto max_wait =
          std::min<std::chrono::steady_clock::duration>(std::chrono::microseconds(options_.max_gather_us),
                                                        last_sync / 2);
      // Those that were already waiting when the sync ended, plus the ones it acknowledged.
      const std::size_t want =
          std::min(pending_at_sync_ + last_group, options_.max_group_requests);
      if (pending_ < want && max_wait.count() > 0 && !stopping_) {
        gathers_.fetch_add(1, std::memory_order_relaxed);
        gather_want_ = want;
        const auto until = std::chrono::steady_clock::now() + max_wait;
        thread_waiting_ = true;
        cv_.wait_until(lk, until, [&] { return pending_ >= gather_want_ || stopping_; });
        thread_waiting_ = false;
        gather_want_ = 1;
      }
      // Take everything pending: this is the group commit.
      list = head_;
      head_ = tail_ = nullptr;
      pending_ = 0;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t before = requests_.load(std::memory_order_relaxed);
    while (list != nullptr) {
      list = CommitGroup(list);
    }
    // Requests may not be touched once their callback ran: count through the stats.
    last_group = static_cast<std::size_t>(requests_.load(std::memory_order_relaxed) - before);
    last_sync = std::chrono::steady_clock::now() - t0;
  }
  thread_id_.store(std::thread::id(), std::memory_order_relaxed);
}

CommitRequest* CommitQueue::CommitGroup(CommitRequest* head) {
  // 1. Choose the group: up to the request and byte limits, at least one request.
  std::size_t n = 0;
  std::size_t bytes = 0;
  CommitRequest* end = head;
  while (end != nullptr && n < options_.max_group_requests) {
    const std::size_t sz = end->batch.ByteSize();
    if (n > 0 && bytes + sz > options_.max_group_bytes) {
      break;
    }
    bytes += sz;
    ++n;
    end = end->next_;
  }

  // 2. Write it with one synced write. Each request's prepare hook runs first, in order, and
  // reads through the group's index, so it sees every earlier request of the group. A request
  // whose hook refuses it, or whose batch cannot be merged (an operation MetaBatch never
  // produces), fails alone: its save point is rolled back and `result_` carries the error.
  Status status;
  std::size_t accepted = 0;
  for (CommitRequest* r = head; r != end; r = r->next_) {
    r->attempted = false;
  }
  if (db_->WritesStopped()) {
    // RocksDB refuses every write until it recovers: refuse the group without trying, as
    // Enqueue does, so the callers answer 503 and know nothing was written.
    for (CommitRequest* r = head; r != end; r = r->next_) {
      r->result_ = ReadOnlyStatus(*db_);
    }
  } else if (n == 1 && head->prepare == nullptr &&
             (!options_.maintain_dirs_index || !Touches(*db_, head->batch))) {
    head->result_ = Status::Ok();
    status = SyncedWrite(db_, head->batch.rep());
    head->attempted = true;
    accepted = 1;
  } else {
    rocksdb::WriteBatchWithIndex group(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true);
    std::vector<std::string>& touched = touched_;
    CopyHandler copier(*db_, &group, options_.maintain_dirs_index ? &touched : nullptr);
    for (CommitRequest* r = head; r != end; r = r->next_) {
      r->result_ = Status::Ok();
      CommitView view(*db_, &group);
      if (r->prepare != nullptr) {
        r->result_ = r->prepare(r->ctx, view, &r->batch);
        if (!r->result_.ok()) {
          continue;
        }
      }
      group.SetSavePoint();
      touched.clear();
      rocksdb::Status s = r->batch.rep()->Iterate(&copier);
      // The directory index follows every objects key the request touched, reading the
      // group with the request merged (store/dirs.h).
      Status dirs;
      // One key whose pre-request state the prepare hook read (a PUT reads the record it
      // replaces): by the index's invariant its leaf exists iff the key did, so the index
      // need not be read for it.
      bool existed = false;
      const bool known = touched.size() == 1 &&
                         view.LastObjectsRead(std::string_view(touched[0]).substr(0, touched[0].size() - 1),
                                              &existed);
      for (std::size_t i = 0; s.ok() && dirs.ok() && i < touched.size(); ++i) {
        const std::string& t = touched[i];
        dirs = UpdateDirsForKey(*db_, view, &group, std::string_view(t).substr(0, t.size() - 1),
                                t.back() == '\1', known ? &existed : nullptr);
      }
      if (!s.ok() || !dirs.ok()) {
        group.RollbackToSavePoint().PermitUncheckedError();
        r->result_ = !s.ok() ? FromRocks(s, "merge commit batch") : std::move(dirs);
      } else {
        group.PopSavePoint().PermitUncheckedError();
        ++accepted;
      }
    }
    if (accepted > 0) {
      status = SyncedWrite(db_, group.GetWriteBatch());
      for (CommitRequest* r = head; r != end; r = r->next_) {
        r->attempted = r->result_.ok();
      }
    }
  }
  if (accepted > 0) {
    syncs_.fetch_add(1, std::memory_order_relaxed);
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    pending_at_sync_ = pending_;
  }
  uint64_t prev = max_group_.load(std::memory_order_relaxed);
  while (prev < n && !max_group_.compare_exchange_weak(prev, n, std::memory_order_relaxed)) {
  }

  // 3. Complete, in enqueue order. Read next_ first: the callback may reuse the request.
  uint64_t failed = 0;
  for (CommitRequest* r = head; r != end;) {
    CommitRequest* next = r->next_;
    Status s = r->result_.ok() ? status : std::move(r->result_);
    if (!s.ok()) {
      ++failed;
    }
    if (r->callback != nullptr) {
      r->callback(r->ctx, std::move(s));
    }
    r = next;
  }
  requests_.fetch_add(n, std::memory_order_relaxed);
  failed_.fetch_add(failed, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lk(mu_);
    outstanding_ -= n;
  }
  return end;
}

}  // namespace mamute::store
