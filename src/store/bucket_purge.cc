#include "store/bucket_purge.h"

#include <rocksdb/iterator.h>
#include <rocksdb/options.h>

#include <memory>
#include <optional>
#include <string>

#include "core/shard.h"
#include "store/multipart.h"
#include "store/object_io.h"

namespace mamute::store {
namespace {

struct PurgeJob {
  ObjectIo* io = nullptr;
  const MetaDb* db = nullptr;
  BucketId bucket = 0;
  PurgeCallback done = nullptr;
  void* ctx = nullptr;
  PurgeStats stats;
  bool uploads_phase = false;  // every object record is gone; now the uploads
  std::string prefix;
  std::optional<std::string> upper;
};

// Visits the keys of `cf` under the job's bucket prefix; `fn(key)` returns false to stop.
template <typename Fn>
Status ScanBucket(const PurgeJob& j, Cf cf, Fn&& fn) {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper_slice;
  if (j.upper) {
    upper_slice = rocksdb::Slice(*j.upper);
    ro.iterate_upper_bound = &upper_slice;
  }
  auto it = j.db->NewIterator(cf, ro);
  for (it->Seek(rocksdb::Slice(j.prefix)); it->Valid(); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (!k.starts_with(j.prefix)) {
      break;
    }
    if (!fn(k)) {
      break;
    }
  }
  return FromRocks(it->status(), "purge scan");
}

void Finish(PurgeJob* j, Status st) {
  std::unique_ptr<PurgeJob> owned(j);
  j->done(j->ctx, std::move(st), j->stats);
}

// Fills `op` with the next chunk: object records first, then uploads with their parts.
Status FillChunk(PurgeJob* j, MetaOp* op) {
  if (!j->uploads_phase) {
    uint64_t n = 0;
    Status inner;
    MAMUTE_RETURN_IF_ERROR(ScanBucket(*j, Cf::kObjects, [&](std::string_view k) {
      inner = op->batch().Delete(Cf::kObjects, k);
      // The commit-time hook reads this key's record and retires its data files.
      op->add_replaced_key(k);
      ++n;
      return inner.ok() && n < kPurgeChunk;
    }));
    MAMUTE_RETURN_IF_ERROR(inner);
    j->stats.objects += n;
    if (n > 0) {
      return Status::Ok();
    }
    j->uploads_phase = true;
  }
  Status inner;
  MAMUTE_RETURN_IF_ERROR(ScanBucket(*j, Cf::kUploads, [&](std::string_view k) {
    Result<DecodedUploadKey> dk = DecodeUploadKey(k);
    if (!dk) {
      inner = dk.error();
      return false;
    }
    // One upload per commit: the commit-time hook removes it with its parts and part files
    // (store::RemoveUpload), atomic with any UploadPart, Complete or Abort of it in flight.
    op->end_upload(j->bucket, dk->object_key, dk->upload_id);
    ++j->stats.uploads;
    return false;
  }));
  return inner;
}

void Step(PurgeJob* j);

void OnChunk(void* ctx, Status st, bool /*existed*/) {
  auto* j = static_cast<PurgeJob*>(ctx);
  // NotFound: the upload this chunk ended was ended first by an Abort, a Complete or the
  // sweep; the next scan no longer sees it.
  if (!st.ok() && !(j->uploads_phase && st.code() == Code::kNotFound)) {
    return Finish(j, std::move(st));
  }
  ++j->stats.chunks;
  Step(j);
}

void Step(PurgeJob* j) {
  Result<MetaOp*> op = j->io->NewMetaOp();
  if (!op) {
    return Finish(j, op.error());
  }
  const uint64_t uploads_before = j->stats.uploads;
  Status st = FillChunk(j, *op);
  if (st.ok() && (*op)->batch().Count() == 0 && j->stats.uploads == uploads_before) {
    j->io->Discard(*op);
    return Finish(j, Status::Ok());
  }
  if (st.ok()) {
    st = j->io->Submit(*op, &OnChunk, j);  // on error the op is back in the pool
    if (st.ok()) {
      return;
    }
  } else {
    j->io->Discard(*op);
  }
  Finish(j, std::move(st));
}

void StartJob(void* ctx) { Step(static_cast<PurgeJob*>(ctx)); }

}  // namespace

Status PurgeBucketContents(ObjectIo& io, const MetaDb& db, BucketId bucket, PurgeCallback done,
                           void* ctx) {
  core::Shard* shard = core::Shard::Current();
  if (shard == nullptr) {
    return Status::FailedPrecondition("PurgeBucketContents runs on a shard");
  }
  auto j = std::make_unique<PurgeJob>();
  j->io = &io;
  j->db = &db;
  j->bucket = bucket;
  j->done = done;
  j->ctx = ctx;
  j->prefix = BucketPrefix(bucket);
  j->upper = PrefixSuccessor(j->prefix);
  // `done` never runs inside this call: the first chunk starts on the shard's next turn.
  shard->Defer(&StartJob, j.release());
  return Status::Ok();
}

}  // namespace mamute::store
