// MetaDb: the node's one RocksDB instance for metadata, at <data-dir>/meta, with one column
// family per kind of record (docs/storage.md). This is the boundary where rocksdb::Status is
// converted to mamute::Status; nothing above store/ sees a rocksdb::Status.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "mamute/result.h"
#include "mamute/status.h"

namespace mamute::store {

/// The column families. The order is the order of MetaDb's handle table; names are on disk.
enum class Cf : uint8_t {
  kBuckets = 0,   ///< bucket id (8 bytes BE) → BucketRecord
  kBucketNames,   ///< bucket name → bucket id (BucketNameValue)
  kObjects,       ///< bucket id + object key → ObjectRecord
  kUploads,       ///< bucket id + escaped object key + upload id → UploadRecord
  kParts,         ///< upload id + part number (4 bytes BE) → PartRecord
  kCredentials,   ///< access key id → CredentialRecord
  kApiKeys,       ///< api key id → value owned by mgmt/ (version byte first)
  kMgmt,          ///< "<kind>\0<id>" → value owned by mgmt/ (version byte first)
  kDirs,          ///< bucket id + escaped parent + child → version byte (store/dirs.h)
};
inline constexpr std::size_t kCfCount = 9;

/// The on-disk name of a column family, e.g. "objects".
std::string_view CfName(Cf cf) noexcept;

/// Converts a RocksDB status once, at the store boundary. `what` says what was being done.
Status FromRocks(const rocksdb::Status& s, std::string_view what);

struct MetaDbOptions {
  /// Create <data-dir>/meta and missing column families. Default: true.
  bool create_if_missing = true;
  /// Shared LRU block cache for all column families, bytes. Default: 256 MiB.
  std::size_t block_cache_bytes = 256u << 20;
  /// Memtable size per column family for objects/uploads/parts, bytes. Default: 64 MiB.
  std::size_t write_buffer_bytes = 64u << 20;
  /// Memtable size of the small column families, bytes. Default: 8 MiB.
  std::size_t small_write_buffer_bytes = 8u << 20;
  /// RocksDB flush + compaction threads. Default: 2.
  int max_background_jobs = 2;
  /// Bloom filter bits per key (point lookups: HEAD/GET, credentials). 0 disables. Default: 10.
  int bloom_bits_per_key = 10;
  /// WAL files RocksDB keeps for reuse (DBOptions::recycle_log_file_num). A recycled WAL is
  /// overwritten in place, so a synced commit's fdatasync has no file size or extent change
  /// for the filesystem's journal to commit. Default: 0 (see docs/storage.md).
  int recycle_wal_files = 0;
  /// Uncompressed data block size of new SST files, bytes (older files keep theirs).
  /// Default: 16 KiB.
  std::size_t data_block_bytes = 16u << 10;
  /// Keys between restart points (full keys) in new data blocks: a Seek binary-searches the
  /// restart points, then walks up to this many keys. Default: 16.
  int block_restart_interval = 16;
  /// Build the directory index (store/dirs.h) from the objects CF at open when it was never
  /// built. When false and it was not, delimiter listings use the seek path. Default: true.
  bool build_dirs_index = true;
  /// Keep RocksDB's info LOG quiet (warnings and above). Default: true.
  bool quiet_info_log = true;
};

/// The prefix of the message of every commit the store refuses while RocksDB has stopped writes
/// after a background error (MetaDb::WritesStopped; the status is ResourceExhausted).
inline constexpr std::string_view kMetaReadOnly = "metadata store is read-only";

/// What RocksDB's background-error state looks like now (docs/storage.md, "When RocksDB's own
/// write fails").
struct MetaDbHealth {
  bool writes_stopped = false;   ///< a hard or fatal background error stops every write
  bool fatal = false;            ///< ... and only a restart (reopening the DB) recovers
  uint64_t background_errors = 0;  ///< background errors RocksDB reported (any severity)
  uint64_t recoveries = 0;         ///< times writes resumed after being stopped
  std::string last_error;          ///< the last background error, "" if none
};

/// One RocksDB DB with the column families of Cf. Thread-safe like rocksdb::DB: reads and
/// writes may come from any thread; Close() must not race with them.
class MetaDb {
 public:
  /// Opens (or creates) <data_dir>/meta. Blocking; start-up and fsck only.
  static Result<std::unique_ptr<MetaDb>> Open(std::string_view data_dir,
                                              const MetaDbOptions& options = {});
  ~MetaDb();
  MetaDb(const MetaDb&) = delete;
  MetaDb& operator=(const MetaDb&) = delete;

  /// Flushes nothing extra (the WAL is durable for synced writes), releases the handles and
  /// closes the DB. Idempotent; the destructor calls it.
  Status Close();

  /// Point read. NotFound when absent.
  Status Get(Cf cf, std::string_view key, std::string* value) const;
  /// Point read into a pinned slice (no copy when the value is in the block cache).
  Status Get(Cf cf, std::string_view key, rocksdb::PinnableSlice* value) const;
  /// Single-key writes for cold paths (tests, management). `sync` fsyncs the WAL.
  Status Put(Cf cf, std::string_view key, std::string_view value, bool sync = true);
  Status Delete(Cf cf, std::string_view key, bool sync = true);
  /// Writes a batch directly (the commit thread, cold paths). `sync` fsyncs the WAL.
  Status Write(rocksdb::WriteBatch* batch, bool sync);
  /// An iterator over one column family. `opts` must outlive the iterator when it points at
  /// bounds.
  std::unique_ptr<rocksdb::Iterator> NewIterator(Cf cf, const rocksdb::ReadOptions& opts) const;

  /// True while RocksDB refuses writes after a background error of severity hard or worse
  /// (a failed WAL write or sync, a flush or compaction that hit ENOSPC). One relaxed load.
  bool WritesStopped() const noexcept { return stopped_.load(std::memory_order_relaxed) != 0; }
  /// True while stopped by an error only a restart recovers (RocksDB's fatal/unrecoverable).
  bool WritesStoppedFatally() const noexcept { return stopped_.load(std::memory_order_relaxed) >= 3; }
  /// Asks RocksDB to resume writes (DB::Resume) after a non-fatal stop. OK once writes are
  /// allowed again (also when they already were); otherwise RocksDB's answer (Busy while its
  /// own recovery runs, the error itself when it is fatal). Blocking (it may flush): the commit
  /// thread calls it while idle.
  Status TryResume();
  MetaDbHealth health() const;

  /// Whether the directory index (dirs CF) is complete and maintained: delimiter "/" listings
  /// use it only then. Set by EnsureDirsIndex / RebuildDirsIndex (store/dirs.h).
  bool dirs_ready() const noexcept { return dirs_ready_.load(std::memory_order_acquire); }
  void set_dirs_ready(bool ready) noexcept { dirs_ready_.store(ready, std::memory_order_release); }

  rocksdb::DB* db() const noexcept { return db_.get(); }
  rocksdb::ColumnFamilyHandle* handle(Cf cf) const noexcept {
    return handles_[static_cast<std::size_t>(cf)];
  }
  /// The Cf of a RocksDB column family id (WriteBatch::Handler gives ids); false if unknown.
  bool CfFromId(uint32_t id, Cf* cf) const noexcept;
  const std::string& path() const noexcept { return path_; }

 private:
  class Listener;
  friend class Listener;
  MetaDb() = default;
  // The background-error listener's entry points (any RocksDB thread).
  void OnStopped(int severity, const std::string& error);
  void OnResumed();

  std::string path_;
  std::unique_ptr<rocksdb::Env> env_;  // fault-injection Env (test builds) or null; outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::atomic<bool> dirs_ready_{false};
  std::atomic<int> stopped_{0};  // rocksdb::Status::Severity while writes are stopped, else 0
  std::atomic<uint64_t> background_errors_{0};
  std::atomic<uint64_t> recoveries_{0};
  mutable std::mutex health_mu_;
  std::string last_error_;  // guarded by health_mu_
  std::array<rocksdb::ColumnFamilyHandle*, kCfCount> handles_{};
  rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
};

/// A write batch addressed by Cf, built by a producer (a shard) and handed to the CommitQueue
/// or MetaDb::Write. Wraps rocksdb::WriteBatch so callers need no column family handles.
class MetaBatch {
 public:
  explicit MetaBatch(const MetaDb& db) : db_(&db) {}

  Status Put(Cf cf, std::string_view key, std::string_view value);
  Status Delete(Cf cf, std::string_view key);
  void Clear() { batch_.Clear(); }
  uint32_t Count() const { return batch_.Count(); }
  std::size_t ByteSize() const { return batch_.GetDataSize(); }

  rocksdb::WriteBatch* rep() noexcept { return &batch_; }

 private:
  const MetaDb* db_;
  rocksdb::WriteBatch batch_;
};

}  // namespace mamute::store
