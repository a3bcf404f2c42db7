// The bucket catalog, shared by the management API (mgmt/) and S3's CreateBucket/DeleteBucket
// (s3/): S3's bucket naming rules, the mgmt CF index keys of a project's buckets and
// credentials, and the batches that create and remove a bucket (docs/storage.md,
// "Management"). Everything here is pure or a blocking RocksDB read; writes are the caller's
// (a synced CommitQueue::Write on the management shard, an ObjectIo MetaOp on a data shard).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mamute/result.h"
#include "mamute/status.h"
#include "store/commit_queue.h"
#include "store/keys.h"
#include "store/meta_db.h"
#include "store/records.h"

namespace mamute::store {

/// S3's general-purpose bucket naming rules
/// (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html). nullopt when `name`
/// is valid, else the rule it breaks, as a sentence.
std::optional<std::string_view> BucketNameError(std::string_view name) noexcept;

/// Visits every key of `cf` that starts with `prefix`, from `start` (empty: the prefix);
/// `fn(key, value)` returns false to stop.
template <typename Fn>
Status ScanPrefix(const MetaDb& db, Cf cf, std::string_view prefix, std::string_view start, Fn&& fn) {
  auto upper = PrefixSuccessor(prefix);
  rocksdb::Slice upper_slice;
  rocksdb::ReadOptions ro;
  if (upper) {
    upper_slice = rocksdb::Slice(*upper);
    ro.iterate_upper_bound = &upper_slice;
  }
  auto it = db.NewIterator(cf, ro);
  std::string_view seek = start.empty() ? prefix : start;
  for (it->Seek(rocksdb::Slice(seek.data(), seek.size())); it->Valid(); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (!k.starts_with(prefix)) break;
    if (!fn(k, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status(), "scan");
}

// ---- mgmt CF index keys -----------------------------------------------------------------------

/// project_bucket\0<project id>\0<bucket name> → bucket_names value: a project's buckets by name.
std::string ProjectBucketKey(std::string_view project_id, std::string_view bucket_name);
/// bucket_cred\0<bucket id 8 BE><access key id> → u8 1: a bucket's credentials.
std::string BucketCredentialPrefix(BucketId bucket);
std::string BucketCredentialKey(BucketId bucket, std::string_view ak);
/// project_cred\0<project id>\0<access key id> → u8 1: a project's project-scoped credentials.
std::string ProjectCredentialPrefix(std::string_view project_id);
std::string ProjectCredentialKey(std::string_view project_id, std::string_view ak);
/// The index key of a credential, from its scope.
std::string CredentialIndexKey(const CredentialScope& scope, std::string_view ak);

// ---- create -------------------------------------------------------------------------------------

/// Adds a new bucket's record, name and project index entry to `batch`.
Status AddBucketCreation(const BucketRecord& rec, MetaBatch* batch);

/// What CheckBucketCreation found at commit time.
struct BucketCreationCheck {
  std::string_view name;        ///< in: the name to create
  std::string_view project_id;  ///< in: its project
  BucketId id = 0;              ///< in: the new bucket's id
  bool owned = false;           ///< out: the name exists and belongs to `project_id`
};
/// A CommitPrepare (ctx: BucketCreationCheck*): AlreadyExists when the name is taken (by the
/// same project: `owned` set) or the id is in use, so two concurrent creations of one name,
/// from any shard or the management API, never both succeed.
Status CheckBucketCreation(void* ctx, const CommitView& view, MetaBatch* batch);

// ---- remove -------------------------------------------------------------------------------------

/// Whether the bucket has objects (any record under its prefix).
Result<bool> BucketHasObjects(const MetaDb& db, BucketId bucket);

/// Adds to `batch` the removal of the bucket's record, name, project index entry and every
/// credential scoped to it (record and index; `*credentials_removed` counts them). Multipart
/// uploads go at commit time (BucketUploadsRemoval); objects are the caller's: it checked there
/// are none (DeleteBucket) or removes them.
Status AddBucketRemoval(const MetaDb& db, const BucketRecord& rec, MetaBatch* batch,
                        std::size_t* credentials_removed);

/// The message of the NotFound status a commit gets when its bucket was deleted before it
/// (CheckBucketLive): callers compare with it rather than with a string of their own.
inline constexpr std::string_view kBucketDeleted = "NoSuchBucket";

/// At commit time (inside a CommitPrepare): OK while bucket `bucket`'s record exists in `view`;
/// NotFound(kBucketDeleted) once a bucket deletion committed earlier. Every commit that creates
/// a record under a bucket (PUT, CopyObject, POST, CreateMultipartUpload, Complete) checks it,
/// so nothing can be added to a bucket after its deletion — and after its purge scanned it.
Status CheckBucketLive(const CommitView& view, BucketId bucket);

/// What RemoveBucketUploads works on.
struct BucketUploadsRemoval {
  BucketId bucket = 0;                ///< in
  std::vector<FileRef>* garbage = nullptr;  ///< out: the removed uploads' part files
};
/// A CommitPrepare (ctx: BucketUploadsRemoval*): removes every multipart upload of the bucket
/// with store::RemoveUpload (upload and part records, part files to `garbage`), atomic with any
/// UploadPart, Complete or Abort of them.
Status RemoveBucketUploads(void* ctx, const CommitView& view, MetaBatch* batch);

}  // namespace mamute::store
