// The directory index (dirs column family): for delimiter "/" listings, one entry per
// (parent "directory", child) pair, so a listing is one Seek plus one Next per item returned
// (docs/storage.md, "Directory index").
//
// Key: bucket id (8 B BE) + AppendEscaped(parent) + child bytes. For an object key K, every
// "/"-terminated prefix P of K gives a DIR entry (parent = the previous "/"-terminated prefix
// or "", child = the segment up to and including P's last "/"), and K gives one LEAF entry
// (parent = K up to and including its last "/", or ""; child = the rest, possibly empty, never
// containing "/"). "a/b/c" → ("", "a/"), ("a/", "b/"), ("a/b/", "c").
// Value: one byte, kDirsValueVersion.
// Invariant: DIR (parent, seg/) exists iff some object key starts with parent+seg/; LEAF
// (parent, child) exists iff object parent+child exists.
//
// Maintained on the commit thread (CommitQueue::CommitGroup → UpdateDirsForKey) for every
// objects-CF key a commit touches; built from the objects CF once when a DB without it opens
// (the marker kDirsBuiltKey records that it was); checked and repaired by fsck.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mamute/result.h"
#include "mamute/status.h"
#include "store/keys.h"
#include "store/meta_db.h"

namespace rocksdb {
class WriteBatchBase;
}

namespace mamute::store {

class CommitView;

/// The format version byte, the whole value of every dirs entry.
inline constexpr uint8_t kDirsValueVersion = 1;
/// The marker "the index was built from the objects CF": a 5-byte key, shorter than any entry
/// (entries have at least 8 + 2 bytes), so no entry can collide with it. Value: the version byte.
inline constexpr std::string_view kDirsBuiltKey = "built";

/// bucket + AppendEscaped(parent): the prefix of every entry under `parent`.
void AppendDirsParent(std::string* out, BucketId bucket, std::string_view parent);
/// A whole entry key.
std::string DirsKey(BucketId bucket, std::string_view parent, std::string_view child);

struct DecodedDirsKey {
  BucketId bucket = 0;
  std::string parent;     ///< unescaped
  std::string_view child; ///< points into the encoded key
};
Result<DecodedDirsKey> DecodeDirsKey(std::string_view encoded);

/// Calls fn(parent, child) for every entry an object key implies: the DIR entries from the
/// top down, then the LEAF.
template <typename Fn>
void ForEachDirsEntry(std::string_view key, Fn&& fn) {
  std::size_t start = 0;  // where the current parent ends
  for (std::size_t pos = key.find('/'); pos != std::string_view::npos;
       pos = key.find('/', pos + 1)) {
    fn(key.substr(0, start), key.substr(start, pos + 1 - start));
    start = pos + 1;
  }
  fn(key.substr(0, start), key.substr(start));
}

/// The view of the value byte.
std::string_view DirsValue();

/// Commit thread: brings the index in line with the objects-CF key `objects_key` (bucket id +
/// object key) being `present` or not, as the op that touched it left it (the request's batch
/// is merged into `group`, which `view` reads); writes go into `group`. Idempotent; the ops of
/// one batch are applied in batch order, so the last one on a key decides. Keys shorter than
/// a bucket id are ignored.
/// `indexed_hint`, when set, says whether the LEAF exists (the key existed before the request,
/// as its prepare hook read), sparing the index read.
Status UpdateDirsForKey(const MetaDb& db, const CommitView& view, rocksdb::WriteBatchBase* group,
                        std::string_view objects_key, bool present,
                        const bool* indexed_hint = nullptr);

/// Deletes every dirs entry and the marker, derives the index from the objects CF and writes
/// it (synced last, with the marker), then marks the DB ready. Only while nothing else writes
/// objects (open, start-up, offline tools, tests).
Status RebuildDirsIndex(MetaDb& db, uint64_t* entries_written = nullptr);

/// MetaDb::Open: builds the index when the marker is missing (a DB from before the index, or
/// a new one), else marks it ready.
Status EnsureDirsIndex(MetaDb& db);

/// What CheckDirsIndex found.
struct DirsCheck {
  uint64_t entries_checked = 0;  ///< dirs entries read
  uint64_t missing = 0;          ///< entries the objects imply that are absent
  uint64_t stale = 0;            ///< entries no object justifies (undecodable ones included)
  bool marker_missing = false;   ///< the index was never built (kDirsBuiltKey absent)
  /// Up to kDirsCheckSamples "missing|stale <entry key hex>" lines, for the report.
  std::vector<std::string> samples;
  uint64_t repaired = 0;  ///< entries written or deleted (repair)
};
inline constexpr std::size_t kDirsCheckSamples = 100;

/// fsck: compares the index with the one the objects CF implies; with `repair` writes the
/// missing entries and deletes the stale ones (synced). Only while nothing else writes.
Status CheckDirsIndex(MetaDb& db, bool repair, DirsCheck* out);

}  // namespace mamute::store
