// Multipart uploads in the metadata store (docs/storage.md, "Multipart uploads").
//
// The uploads CF holds one UploadRecord per upload in progress, the parts CF one PartRecord per
// uploaded part (its data file written by ObjectIo::BeginPart). CompleteMultipartUpload does not
// copy data: the new ObjectRecord (format v2, location kParts) names the part files, and the
// upload and part records are deleted in the same synced batch.
//
// Everything here is blocking RocksDB reads (point reads and bounded scans): the shard runs them
// the way it runs GET's record lookup and ListObjects.
#pragma once

#include <cstdint>
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

inline constexpr uint32_t kMaxPartNumber = 10000;
inline constexpr uint32_t kMaxListParts = 1000;
inline constexpr uint32_t kMaxListUploads = 1000;
inline constexpr uint64_t kMaxPartSize = uint64_t{5} << 30;    // AWS: 5 GiB
inline constexpr uint64_t kDefaultMinPartSize = uint64_t{5} << 20;  // AWS: 5 MiB

/// One stored part. `rec` borrows from `value`: keep the StoredPart where it is once decoded.
struct StoredPart {
  uint32_t number = 0;
  std::string value;
  PartRecord rec;
};

/// Reads the upload's part records with numbers > `after`, at most `max` (0: all), in number
/// order, decoded. `*truncated`: more parts follow. Corruption for an undecodable record.
Status LoadParts(const MetaDb& db, const UploadId& upload, uint32_t after, uint32_t max,
                 std::vector<StoredPart>* out, bool* truncated);

/// Reads one upload record into `value` and decodes it into `rec` (borrowing). NotFound when the
/// upload does not exist (never created, aborted or completed).
Status LoadUpload(const MetaDb& db, BucketId bucket, std::string_view key, const UploadId& id,
                  std::string* value, UploadRecord* rec);

// ---- CompleteMultipartUpload ----------------------------------------------------------------

/// A part as the client lists it in CompleteMultipartUpload.
struct RequestedPart {
  uint32_t number = 0;
  std::string etag;  ///< as sent; quotes are ignored, hex case too
};

enum class CompleteError : uint8_t {
  kNone,
  kInvalidPartOrder,  ///< part numbers not strictly ascending
  kInvalidPart,       ///< a part is missing, or its ETag differs
  kEntityTooSmall,    ///< a part other than the last is under the minimum size
};

/// Checks the client's list against the stored parts (sorted by number) and, when it is
/// valid, fills `chosen` with the stored parts to assemble, in order. `*bad_part` names the
/// offending part number.
CompleteError CheckCompletion(const std::vector<RequestedPart>& requested,
                              const std::vector<StoredPart>& stored, uint64_t min_part_size,
                              std::vector<const StoredPart*>* chosen, uint32_t* bad_part);

/// S3's multipart ETag text (no quotes): hex MD5 of the concatenated raw part MD5s, "-", the
/// part count.
std::string MultipartEtag(const std::vector<const StoredPart*>& parts);

/// Fills the data fields of a completed object's record from its parts: size, etag (borrows
/// `etag`), xxh3 (XXH3-128 of the parts' hashes: an identity, the data is verified part by
/// part), location kParts, parts. Headers, metadata and checksums are the caller's.
void AssembleObject(const std::vector<const StoredPart*>& parts, std::string_view etag,
                    ObjectRecord* rec);

/// A part a completing object names: its part record as CompleteMultipartUpload read it.
struct KeptPart {
  uint32_t number = 0;
  std::string value;  ///< the encoded PartRecord
};

/// Ends upload `id` (Complete, Abort, the expiry sweep), from a commit-time hook so that it is
/// atomic with every other commit: adds to `batch` the deletion of the upload record and of
/// every part record the view holds, and appends their data files to `garbage`, except those of
/// `kept` (sorted by number: the parts the completed object names). NotFound("NoSuchUpload")
/// when the upload record is gone (another Complete, Abort or the sweep came first: nothing is
/// added); FailedPrecondition("InvalidPart") when a kept part's record is no longer the one
/// read (re-uploaded meanwhile: the object would name a retired file).
Status RemoveUpload(const CommitView& view, BucketId bucket, std::string_view key,
                    const UploadId& id, const std::vector<KeptPart>& kept, MetaBatch* batch,
                    std::vector<FileRef>* garbage);

// ---- ListMultipartUploads -------------------------------------------------------------------

struct ListUploadsRequest {
  BucketId bucket = 0;
  std::string_view prefix;
  std::string_view delimiter;
  std::string_view key_marker;
  std::string_view upload_id_marker;  ///< hex; only with key_marker
  uint32_t max_uploads = kMaxListUploads;  ///< clamped to kMaxListUploads
};

struct ListedUpload {
  std::string key;
  UploadId id;
  int64_t initiated_ms = 0;
};

struct ListUploadsResult {
  std::vector<ListedUpload> uploads;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;  ///< hex
};

/// Uploads of a bucket in (key, initiation time) order, S3's ListMultipartUploads. An
/// upload-id-marker that is not a valid upload id is InvalidArgument.
Result<ListUploadsResult> ListUploads(const MetaDb& db, const ListUploadsRequest& req);

// ---- abandoned uploads ----------------------------------------------------------------------

struct ExpiredUpload {
  BucketId bucket = 0;
  std::string key;
  UploadId id;
};

/// Scans at most `budget` upload records starting at encoded key `*cursor` (empty: the start)
/// and appends those initiated before `cutoff_ms` to `out`. `*cursor` becomes where the next
/// scan starts (empty after the last record: the next scan starts over).
Status ScanExpiredUploads(const MetaDb& db, int64_t cutoff_ms, uint32_t budget,
                          std::string* cursor, std::vector<ExpiredUpload>* out);

}  // namespace mamute::store
