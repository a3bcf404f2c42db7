// Purging a deleted bucket's contents (docs/storage.md, "Deleting a bucket").
//
// DELETE /storage/object-storage/buckets/{id}?force=true (management API) and S3 DeleteBucket of
// a non-empty bucket share this: once the bucket record itself is gone (no client can address
// the bucket any more), PurgeBucketContents deletes every object, multipart upload and part
// record of the bucket in bounded chunks, each chunk one MetaOp of the caller's ObjectIo:
//   - objects: the chunk's batch deletes the keys and names them as replaced, so the commit-time
//     hook reads each record as it is at commit time and retires its data files (the single
//     file, or every part file of a multipart object) — the same code as DeleteObject;
//   - uploads in progress: one per commit, ended at commit time by store::RemoveUpload (as
//     AbortMultipartUpload), which deletes the upload and its
//     part records and retires the part files.
// The ObjectIo unlinks the retired files on its ring, after the chunk is durable and after its
// unlink grace: nothing blocks the shard on unlinks, and no file goes before its record.
#pragma once

#include <cstdint>

#include "mamute/status.h"
#include "store/keys.h"
#include "store/meta_db.h"

namespace mamute::store {

class ObjectIo;

struct PurgeStats {
  uint64_t objects = 0;  ///< object records deleted
  uint64_t uploads = 0;  ///< multipart uploads (with their parts) deleted
  uint64_t chunks = 0;   ///< synced commits
};

/// Runs on `io`'s shard once the purge is complete (OK) or failed (the first error: records
/// not yet purged stay, a later purge of the same bucket finishes the job).
using PurgeCallback = void (*)(void* ctx, Status status, const PurgeStats& stats);

/// Most records one purge commit deletes (the commit hook reads each object record: keep the
/// commit thread's group short).
inline constexpr uint32_t kPurgeChunk = 256;

/// Starts purging every object, upload and part record of bucket `bucket` (read from `db`, the
/// node's metadata) through `io`, on `io`'s shard thread. The scans are bounded RocksDB reads on
/// the shard, like a listing. OK: `done` runs later, exactly once, on this shard. An error (not
/// on a shard thread): nothing was started and `done` will not run. Call it only after the bucket record is deleted, or new
/// objects may keep arriving.
[[nodiscard]] Status PurgeBucketContents(ObjectIo& io, const MetaDb& db, BucketId bucket,
                                         PurgeCallback done, void* ctx);

}  // namespace mamute::store
