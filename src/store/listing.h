// ListObjectsV2 / ListObjects (v1) over the objects column family (docs/storage.md, "Listing").
//
// Keys are returned in byte order. With a delimiter, each common prefix is emitted once and the
// iterator then SEEKS past every key under it (to PrefixSuccessor(prefix)), so a listing costs
// O(entries returned), not O(keys under the prefixes): ListResult::keys_visited proves it. A
// prefix that holds a single key is left with one Next() instead (kListProbeBackoff).
//
// Blocking: these run RocksDB iterators (block cache or disk). Call them off a shard's loop or
// accept the latency of a cached read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mamute/result.h"
#include "mamute/status.h"
#include "store/keys.h"
#include "store/meta_db.h"
#include "store/records.h"

namespace mamute::store {

/// S3's ceiling on max-keys; larger requests are clamped (aws-cli sends 9999999).
inline constexpr int64_t kMaxListKeys = 1000;

/// Next-before-Seek: after a common prefix, the iterator first tries one Next() (a cached Next
/// costs about a tenth of a Seek); when that key is still under the prefix it Seeks, and the
/// next this-many common prefixes Seek straight away. A prefix of one key costs a Next; a
/// page of big prefixes pays one extra Next per (this + 1) prefixes.
inline constexpr int kListProbeBackoff = 8;

struct ListRequest {
  BucketId bucket = 0;
  std::string_view prefix;
  std::string_view delimiter;  ///< any string; empty = no grouping
  /// v2: continuation-token, as received (ListResult::next_continuation_token of a previous
  /// page). Takes precedence over start_after.
  std::string_view continuation_token;
  /// v2: start-after; v1: marker. Listing starts strictly after this key.
  std::string_view start_after;
  /// As sent by the client; negative is InvalidArgument, 0 gives an empty, untruncated page,
  /// above kMaxListKeys is clamped. Default: 1000.
  int64_t max_keys = kMaxListKeys;
  /// Delimiter "/" listings read the directory index (store/dirs.h) when the DB has it ready;
  /// false forces the seek path (the equivalence tests compare both). Default: true.
  bool use_dirs_index = true;
};

/// One object of a listing (the fields of <Contents>), copied out of the record.
struct ListedObject {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  EtagKind etag_kind = EtagKind::kMd5;
  std::string etag;  ///< raw, as in ObjectRecord; FormatEtag() renders it
  bool has_checksum = false;
  ChecksumAlgorithm checksum_algorithm = ChecksumAlgorithm::kCrc32;
};

struct ListResult {
  std::vector<ListedObject> objects;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  /// v2, set when truncated: pass back as ListRequest::continuation_token.
  std::string next_continuation_token;
  /// v1, set when truncated and a delimiter was given (AWS sends NextMarker only then): the
  /// last key or common prefix returned. Without a delimiter the client uses the last key.
  std::string next_marker;
  /// Effective max-keys (after clamping), for <MaxKeys>.
  int64_t max_keys = 0;
  /// Keys the iterator was positioned on. A delimiter listing touches about one key per
  /// common prefix, however many keys each prefix holds. On the directory index path: index
  /// entries visited (objects records read for leaves are not counted).
  uint64_t keys_visited = 0;
  /// Iterator Seeks issued: the first one, plus one per common prefix that a Next() probe
  /// did not leave (kListProbeBackoff). On the directory index path: the one Seek of the
  /// index plus the objects-CF Seeks for leaves the objects iterator could not reach by Next.
  uint64_t seeks = 0;
  /// Whether the directory index answered (delimiter "/" with the index ready).
  bool used_dirs_index = false;

  /// <KeyCount>: objects + common prefixes.
  std::size_t key_count() const { return objects.size() + common_prefixes.size(); }
};

/// ListObjectsV2. Errors: InvalidArgument (max-keys < 0, a continuation token that is not one
/// of ours or not for this bucket), Corruption (an undecodable record), RocksDB errors.
Result<ListResult> ListObjectsV2(const MetaDb& db, const ListRequest& req);

/// ListObjects (v1): `start_after` is the marker; continuation_token must be empty.
Result<ListResult> ListObjectsV1(const MetaDb& db, const ListRequest& req);

/// The continuation token format: base64url(version 1 | last item | 8-byte check). The check
/// binds the token to the bucket. Exposed for tests.
std::string EncodeContinuationToken(BucketId bucket, std::string_view last_item);
Result<std::string> DecodeContinuationToken(BucketId bucket, std::string_view token);

}  // namespace mamute::store
