// Recovery: reconcile object data files with the metadata (docs/storage.md, "Recovery").
//
// Blocking and exclusive: run at start-up before the shards serve requests, or from
// `mamute fsck` while the server is down (MetaDb::Open then fails on RocksDB's LOCK file if it
// is not). Layout under each data dir:
//   objects/<2 hex>/<2 hex>/<32 hex file id>   committed object and part data
//   tmp/...                                     files being written; never live after a restart
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mamute/result.h"
#include "mamute/status.h"
#include "store/dirs.h"
#include "store/keys.h"
#include "store/meta_db.h"

namespace mamute::store {

struct FsckOptions {
  /// Data dirs by index (DataLocation::data_dir). Index 0 is also where meta/ lives.
  std::vector<std::string> data_dirs;
  /// Remove orphan data files and temp files. Metadata is never deleted: a record whose data
  /// is missing is reported for an operator to decide. Default: false (report only).
  bool repair = false;
};

/// A metadata record whose data file is not on disk.
struct MissingData {
  Cf cf = Cf::kObjects;  ///< kObjects or kParts
  std::string key;       ///< the raw RocksDB key (decode with DecodeObjectKey / DecodePartKey)
  std::string path;      ///< the data file it names
};

struct FsckReport {
  uint64_t objects_checked = 0;
  uint64_t parts_checked = 0;
  uint64_t data_files_seen = 0;
  std::vector<std::string> orphan_files;  ///< data files no record names
  std::vector<std::string> temp_files;    ///< everything under tmp/
  std::vector<std::string> stray_files;   ///< unexpected names under objects/ (left alone)
  std::vector<MissingData> missing;       ///< records whose data file is absent
  std::vector<std::string> corrupt;       ///< "<cf>: <key hex>: <reason>" of undecodable records
  /// "<upload id hex> part <n>" of part records whose upload record is gone (an upload ended
  /// while a part committed; never deleted: their files stay referenced).
  std::vector<std::string> orphan_parts;
  /// Buckets whose record is gone but whose object or upload records remain (a bucket purge
  /// interrupted by a crash or an error). Their records name no live data: their files count
  /// as orphans, and repair deletes the records (first, synced) and then the files.
  std::vector<BucketId> dead_buckets;
  uint64_t dead_bucket_objects = 0;  ///< object records of dead buckets
  uint64_t dead_bucket_uploads = 0;  ///< upload records of dead buckets (their parts go too)
  uint64_t records_reclaimed = 0;    ///< object, upload and part records deleted (repair)
  /// The directory index against the objects CF (store/dirs.h): missing and stale entries,
  /// written / deleted by repair (DirsCheck::repaired).
  DirsCheck dirs;
  uint64_t removed = 0;                   ///< files removed (repair)
  std::vector<std::string> errors;        ///< I/O errors met while scanning or removing

  /// Nothing to report: no orphans, temps, strays, missing data, corruption, orphan parts or errors.
  bool clean() const {
    return orphan_files.empty() && temp_files.empty() && stray_files.empty() && missing.empty() &&
           corrupt.empty() && orphan_parts.empty() && dead_buckets.empty() && errors.empty() &&
           dirs.missing == 0 && dirs.stale == 0 && !dirs.marker_missing;
  }
};

/// One pass over the data dirs and the objects/uploads/parts records: fills orphan, temp and
/// stray files, missing data, corrupt records and dead buckets (records of a deleted bucket
/// keep no file alive). Lists only; removes nothing.
Status ScanOrphans(const MetaDb& db, const std::vector<std::string>& data_dirs, FsckReport* report);

/// Removes report->orphan_files and report->temp_files, counting report->removed; failures go
/// to report->errors.
void RemoveOrphans(FsckReport* report);

/// Deletes every object, upload, part and directory-index record of report->dead_buckets with synced writes
/// (1000 records a batch), counting report->records_reclaimed. Run before RemoveOrphans, so no
/// file goes before the records naming it. Only while nothing else writes (start-up, offline).
Status ReclaimDeadBuckets(MetaDb& db, FsckReport* report);

/// The whole check on an open MetaDb (start-up): ScanOrphans, missing data, corrupt records,
/// the directory index (CheckDirsIndex, repaired when options.repair), then
/// ReclaimDeadBuckets and RemoveOrphans when options.repair.
Result<FsckReport> Fsck(MetaDb& db, const FsckOptions& options);

/// `mamute fsck`: opens <data_dir>/meta itself (fails while a server holds it) and checks the
/// one data dir.
Result<FsckReport> Fsck(std::string_view data_dir, bool repair);

/// `mamute fsck` with several data dirs (in --data-dir order): checks their identity files
/// (FailedPrecondition if the order changed or a dir is missing), opens <data_dirs[0]>/meta and
/// checks every dir.
Result<FsckReport> Fsck(const std::vector<std::string>& data_dirs, bool repair);

}  // namespace mamute::store
