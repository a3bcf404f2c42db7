// ObjectIo: the object data path of one shard (docs/storage.md, "Object data path").
//
// Object bytes are written and read through the owning shard's io_uring ring: openat, write,
// read, fdatasync, renameat, mkdirat, unlinkat and close are ring operations whose completions
// come back as Op::kFile with a checked {slot, generation} handle. Nothing here blocks the
// shard thread on disk I/O, except ObjectIo::Init() (start-up: opens the data dirs).
//
// PUT: ObjectWriter stages the body in chunk buffers, computes MD5 (the ETag) and XXH3-128 as
// bytes arrive, and
//   - small objects (≤ inline_threshold): keeps them in memory; the bytes go inline into the
//     ObjectRecord — no data file at all;
//   - larger ones: writes <data-dir>/tmp/<id> → fdatasync → renameat into
//     objects/<2 hex>/<2 hex>/<id> → fsync that directory;
// then commits the ObjectRecord through the node's CommitQueue (synced WAL, group commit) and
// only then calls the user's completion — on the shard, never on the commit thread.
//
// GET: ObjectReader streams [offset, offset + length) in chunks, one chunk handed out at a time
// (explicit flow control: More()), verifying XXH3-128 on full reads.
//
// Overwrite and delete: the replaced file is unlinked only after the new metadata is durable,
// and after a grace period (readers of other shards may have looked up the old record but not
// opened the file yet; a reader that did open it keeps reading the unlinked inode).
//
// Everything here runs on the owning shard's thread. Callbacks are plain function pointers
// with a context (no std::function), and are never called from inside the API call that
// registered them.
#pragma once

#include <openssl/evp.h>
#include <xxhash.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/shard.h"
#include "mamute/result.h"
#include "mamute/status.h"
#include "store/commit_queue.h"
#include "store/keys.h"
#include "store/multipart.h"
#include "store/node.h"
#include "store/records.h"

namespace rocksdb {
class Snapshot;
}

namespace mamute::store {

class DataDirPlacement;

struct ObjectIoOptions {
  /// Objects of at most this many bytes are stored inline in their ObjectRecord (in RocksDB),
  /// without a data file. Must be < chunk_bytes. Default: 16 KiB (see docs/storage.md for why).
  uint32_t inline_threshold = 16u << 10;
  /// Size of one staging / read buffer, and of one write or read operation; a multiple of
  /// 4096. Default: 256 KiB.
  uint32_t chunk_bytes = 256u << 10;
  /// Most bytes one writer holds (staged + being written) before Append() pushes back;
  /// rounded down to whole chunks, clamped to 2..16 chunks. Default: 1 MiB.
  uint32_t write_window_bytes = 1u << 20;
  /// Chunks one reader keeps in flight or ready ahead of the consumer, 2..8. Default: 2.
  uint32_t read_ahead_chunks = 2;
  /// Index (in NodeStore::data_dirs) of the data dir new data files go to. Default: 0.
  uint32_t write_dir = 0;
  /// Chooses the data dir of each new data file instead (free-space weighted, data_dirs.h);
  /// shared by the shards, outlives this ObjectIo. Null: always write_dir. Default: null.
  DataDirPlacement* placement = nullptr;
  /// Delay before the data file of an overwritten or deleted object is unlinked, ms. Covers a
  /// reader (on any shard) that looked up the old record but has not opened its file yet.
  /// 0: unlink right after the commit. Default: 10000 (10 s).
  uint32_t unlink_grace_ms = 10000;
  /// fsync the object's directory after the rename (and parents after creating a directory),
  /// so a committed record never names a file whose directory entry a crash lost. Default: true.
  bool sync_dirs = true;
  /// Start writeback of each full chunk of a data file once it is written
  /// (IORING_OP_SYNC_FILE_RANGE with SYNC_FILE_RANGE_WRITE: no waiting, durability still comes
  /// from the fdatasync before the rename), so large PUTs keep the device busy while the body
  /// streams instead of leaving it all to the final fdatasync. Measured slower on the
  /// development VM's virtio disk (docs/benchmarks.md, "Store"), hence off. Default: false.
  bool write_behind = false;
  /// Write the data file of a PUT whose size was declared (ObjectWriter::ExpectSize) and is at
  /// least direct_io_min_bytes with O_DIRECT: the chunks go from the staging buffers to the
  /// device without a copy into the page cache, while the body streams, so the closing
  /// fdatasync finds only the metadata (and a buffered tail: the last chunk's bytes past the
  /// last whole 4 KiB block are written through the page cache). A data dir whose filesystem
  /// refuses O_DIRECT (EINVAL at open or write) falls back to buffered writes for the rest of
  /// the run. Measured in docs/benchmarks.md ("16 MiB PUT"); decision in docs/storage.md
  /// ("O_DIRECT"): not faster than buffered writes on the development VM's shared virtio
  /// disk, hence off. Default: false.
  bool direct_io = false;
  /// Smallest declared size written with O_DIRECT (smaller ones: buffered). Default: 1 MiB.
  uint64_t direct_io_min_bytes = 1u << 20;
  /// With direct_io: fallocate() the declared size right after the temp file is opened (a
  /// ring op), so a full disk fails the PUT before its body is written and the direct writes
  /// land in allocated blocks instead of extending the file one write at a time (ext4 runs
  /// extending direct writes under the inode lock). Default: true.
  bool preallocate = true;
};

/// Counters, written by the owning shard only (relaxed), readable from any thread.
struct ObjectIoStats {
  std::atomic<uint64_t> puts{0};            ///< PUTs committed
  std::atomic<uint64_t> puts_inline{0};     ///< ... of which inline
  std::atomic<uint64_t> puts_direct{0};     ///< ... of which written with O_DIRECT
  std::atomic<uint64_t> put_failures{0};    ///< writers that failed (not aborts)
  std::atomic<uint64_t> aborts{0};          ///< writers aborted by the caller
  std::atomic<uint64_t> bytes_written{0};   ///< object bytes committed
  std::atomic<uint64_t> gets{0};            ///< reads that completed OK
  std::atomic<uint64_t> get_failures{0};    ///< reads that ended with an error
  std::atomic<uint64_t> bytes_read{0};      ///< object bytes handed to readers
  std::atomic<uint64_t> corruption{0};      ///< XXH3 mismatches and truncated data files
  std::atomic<uint64_t> enospc{0};          ///< writes or syncs that failed with ENOSPC/EDQUOT
  std::atomic<uint64_t> deletes{0};         ///< deletes committed
  std::atomic<uint64_t> files_unlinked{0};  ///< replaced data files removed after the grace
  std::atomic<uint64_t> stale_completions{0};  ///< completions whose slot generation moved on
};

/// What a committed PUT stored.
struct PutResult {
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  std::array<uint8_t, 16> md5{};  ///< raw MD5 of the body: the ETag
  Hash128 xxh3;
  LocationKind location = LocationKind::kInline;
  FileId file;            ///< kFile
  uint32_t data_dir = 0;  ///< kFile
  /// 32 lowercase hex chars (no quotes).
  std::string EtagHex() const;
};

/// The writer may take more bytes (OK), or it failed (the error; call Abort() or Finish()).
using WriteReadyCallback = void (*)(void* ctx, Status status);
/// A PUT ended: committed (OK; `result` describes it) or failed (nothing left behind, except a
/// renamed file after a failed metadata commit, which fsck removes). The writer is gone.
using PutCallback = void (*)(void* ctx, Status status, const PutResult& result);
/// A delete ended. `existed`: a record was there and is now gone (DeleteMany: any of them).
/// SetTags: `existed` false means there was no such object and nothing changed.
using DeleteCallback = void (*)(void* ctx, Status status, bool existed);
/// A MetaOp committed (OK) or failed. `replaced`: the objects CF key it named had a record.
using MetaOpCallback = DeleteCallback;

/// A conditional PUT (If-None-Match / If-Match), checked atomically at commit time against the
/// key's current record (CommitQueue's prepare hook). A failed check fails the PUT with
/// FailedPrecondition("PreconditionFailed") and leaves nothing behind.
struct PutCondition {
  bool if_none_match_any = false;  ///< If-None-Match: * — the key must not exist
  bool if_match = false;           ///< If-Match — the key must exist with one of these ETags
  std::string if_match_list;       ///< the header's value ("*" or quoted ETags, comma-separated)
};

class ObjectIo;
class ObjectReader;

/// A metadata batch committed through the CommitQueue on behalf of a shard, with data files
/// to unlink (after the grace period) once it is durable: how DeleteObject, DeleteObjects,
/// tag updates, Complete and AbortMultipartUpload retire records and their files. Obtained
/// from ObjectIo::NewMetaOp, filled, then ObjectIo::Submit (or ObjectIo::Discard).
class MetaOp {
 public:
  MetaOp(ObjectIo* io, const MetaDb& db) : io_(io), commit_(db) {}
  MetaBatch& batch() noexcept { return commit_.batch; }
  /// Files no record names once the batch is durable.
  std::vector<FileRef>& garbage() noexcept { return garbage_; }
  /// An objects CF key this batch overwrites or deletes: the record it has at commit time
  /// (read by the CommitQueue's prepare hook, after every earlier commit) adds its data files
  /// (every part's, for a multipart record) to the garbage.
  void add_replaced_key(std::string_view key);
  /// Files never to treat as garbage, whatever the replaced record named (the files the batch's
  /// new record names: a second Complete of the same upload replaces a record naming them).
  std::vector<FileRef>& keep() noexcept { return keep_; }
  /// The multipart upload this batch ends (Complete, Abort, the expiry sweep): the commit-time
  /// hook removes it with store::RemoveUpload — atomic with every UploadPart, Complete and Abort
  /// of it — and its part files (less `kept_parts`) join the garbage. The commit fails with
  /// NotFound("NoSuchUpload") when the upload is already gone, FailedPrecondition("InvalidPart")
  /// when a kept part was uploaded again meanwhile.
  void end_upload(BucketId bucket, std::string_view key, const UploadId& id);
  /// The parts the batch's new object names (sorted by number), as they were read.
  std::vector<KeptPart>& kept_parts() noexcept { return kept_parts_; }
  /// A commit-time check (a CommitPrepare with `ctx`) run before the op's own hook: its failure
  /// fails the op (its callback gets that status) and nothing is written. Bucket creation and
  /// deletion over S3 check the bucket's name there.
  void set_check(CommitPrepare check, void* ctx) noexcept {
    check_ = check;
    check_ctx_ = ctx;
  }
  /// The batch adds records under `bucket` (CreateMultipartUpload, Complete): at commit time
  /// the bucket must still exist (CheckBucketLive), else the op fails with
  /// NotFound(kBucketDeleted) and nothing is written.
  void require_bucket(BucketId bucket) noexcept {
    requires_bucket_ = true;
    required_bucket_ = bucket;
  }
  /// The batch changes a bucket's configuration (CORS): once it is durable, bump the node's
  /// bucket_config_epoch (on the commit thread, before the callback), so every shard's cache
  /// reloads — also when the requester has gone away meanwhile.
  void bump_config_epoch() noexcept { bump_epoch_ = true; }

 private:
  friend class ObjectIo;
  enum class Mode : uint8_t {
    kBatch,   // the caller's batch
    kDelete,  // the batch deletes the replaced keys that exist (Delete, DeleteMany)
    kTags,    // the batch rewrites replaced_keys_[0]'s record with tag_text_ (SetTags)
  };
  struct Msg : core::Message {
    MetaOp* op = nullptr;
  };
  ObjectIo* io_;
  CommitRequest commit_;
  Msg msg_;
  Mode mode_ = Mode::kBatch;
  std::vector<std::string> replaced_keys_;  // [0, nkeys_) are this op's (buffers reused)
  std::size_t nkeys_ = 0;
  std::vector<std::string> tag_text_;  // kTags: key, value, key, value, ...
  std::vector<FileRef> garbage_;
  std::vector<FileRef> keep_;
  bool ends_upload_ = false;
  BucketId upload_bucket_ = 0;
  std::string upload_object_key_;
  UploadId upload_id_;
  std::vector<KeptPart> kept_parts_;
  MetaOpCallback cb_ = nullptr;
  void* ctx_ = nullptr;
  CommitPrepare check_ = nullptr;
  void* check_ctx_ = nullptr;
  bool requires_bucket_ = false;
  BucketId required_bucket_ = 0;
  bool bump_epoch_ = false;
  // Commit thread's while in the queue.
  Status status_;
  std::string old_value_;
  std::string new_value_;
  ObjectRecord old_rec_;
  std::vector<FileRef> replaced_files_;  // the replaced records' files, less keep_
  bool existed_ = false;
};

/// Something with ring operations in flight (internal).
class OpOwner {
 public:
  virtual ~OpOwner() = default;
  /// One completion: `kind` and `arg` as given when the op was submitted, `res` = cqe->res.
  virtual void OnOp(uint8_t kind, uint32_t arg, int res) noexcept = 0;
  /// What fault-injection rules match against (core/fault.h); called only when faults are
  /// armed (test builds).
  virtual std::string_view FaultSubject() noexcept { return {}; }
};

/// One PUT in progress. Obtained from ObjectIo::BeginPut; ends with Finish() (its callback) or
/// Abort(). Not usable after either.
class ObjectWriter final : public OpOwner {
 public:
  /// Copies as much of `data` as the writer's window takes into its staging buffers (full
  /// buffers are written through the ring at once) and feeds MD5 and XXH3. Returns the bytes
  /// taken. Fewer than data.size(): the window is full; `on_ready(ctx, OK)` runs (from a
  /// completion, never inside Append) once more can be taken, and the caller appends the rest
  /// then. `on_ready(ctx, error)` reports a failure while the caller waits. An error return: the
  /// writer failed earlier (e.g. NoSpace) — call Abort() or Finish().
  [[nodiscard]] Result<std::size_t> Append(std::string_view data, WriteReadyCallback on_ready,
                                           void* ctx) noexcept;

  /// Ends the body. `meta` supplies the headers, user metadata, checksums and tags (its views
  /// need to live only during this call); size, mtime, ETag, XXH3 and location are the
  /// writer's. `expected_md5` (16 bytes, or null): Content-MD5; a mismatch fails the PUT with
  /// InvalidArgument("BadDigest") before anything is committed. `cb` runs on this shard once the
  /// record is durable (or the PUT failed); never inside Finish.
  void Finish(const ObjectRecord& meta, const uint8_t* expected_md5, PutCallback cb,
              void* ctx) noexcept;

  /// Drops the PUT (client gone, auth failed mid-body): no callback runs any more; the temp
  /// file is closed and unlinked once in-flight writes complete. Only before Finish().
  void Abort() noexcept;

  /// Declares the body's size (Content-Length, x-amz-decoded-content-length) before the
  /// first Append: large bodies may then be written with O_DIRECT and preallocated
  /// (ObjectIoOptions::direct_io, preallocate). A hint only: a body of another size is still
  /// stored as it came (a shorter one leaves preallocated blocks past the end of the data
  /// file, which reads never reach).
  void ExpectSize(uint64_t bytes) noexcept { expected_ = bytes; }

  /// Makes the commit conditional (before Finish()).
  void SetCondition(PutCondition cond) noexcept { cond_ = std::move(cond); }

  /// Bytes taken so far.
  uint64_t size() const noexcept { return total_; }

  explicit ObjectWriter(ObjectIo* io);
  ~ObjectWriter() override;
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  void OnOp(uint8_t kind, uint32_t arg, int res) noexcept override;
  std::string_view FaultSubject() noexcept override;

 private:
  friend class ObjectIo;
  enum class State : uint8_t {
    kIdle,       // in the pool
    kStreaming,  // taking bytes (file being opened/written, or still inline-sized)
    kSyncing,    // fdatasync of the temp file
    kDirOpen,    // opening objects/<xx>/<yy>
    kMkdir1,     // creating objects/<xx>
    kMkdir2,     // creating objects/<xx>/<yy>
    kParentOpen, // opening objects/<xx> to fsync it after creating a directory
    kParentSync, // fsync of objects/ and/or objects/<xx>
    kRename,     // renameat tmp → objects
    kDirSync,    // fsync of objects/<xx>/<yy>
    kCommitting, // metadata batch in the CommitQueue
    kDone,       // user callback ran (or aborted): settling
  };
  enum class ChunkState : uint8_t { kFree, kFilling, kQueued, kWriting };
  struct Chunk {
    uint8_t* buf = nullptr;
    uint64_t off = 0;    // file offset of buf[0]
    uint32_t len = 0;    // bytes staged
    uint32_t done = 0;   // bytes written
    ChunkState state = ChunkState::kFree;
  };
  static constexpr uint32_t kMaxChunks = 16;
  struct CommitMsg : core::Message {
    ObjectWriter* writer = nullptr;
  };

  void Reset(BucketId bucket, std::string_view key);
  void SetLocation(DataLocation* loc) noexcept;
  void EncodePartRecord(const ObjectRecord& meta) noexcept;
  void EncodeObjectRecord(const ObjectRecord& meta) noexcept;
  int GrabChunk() noexcept;
  void QueueChunk(int i) noexcept;
  void SubmitWrite(int i) noexcept;
  void ReleaseChunk(int i) noexcept;
  void StartOpen() noexcept;
  void SubmitOpen(bool direct, bool exclusive) noexcept;
  void OnOpened(int res) noexcept;
  void DropDirect() noexcept;
  void SubmitQueued() noexcept;
  void Advance() noexcept;
  void OpenDir() noexcept;
  void Commit() noexcept;
  void Fail(Status st) noexcept;
  void Settle() noexcept;
  void Kick() noexcept;
  void MaybeRelease() noexcept;
  void CloseFd(int* fd) noexcept;
  static void KickFn(void* self);
  static Status CommitPrepare(void* ctx, const CommitView& view, MetaBatch* batch);
  static void CommitDone(void* ctx, Status st);
  static void OnCommitted(core::Shard& shard, core::Message* m);

  ObjectIo* io_;
  State state_ = State::kIdle;
  BucketId bucket_ = 0;
  std::string key_;
  std::string key_buf_;     // encoded objects CF key
  std::string record_buf_;  // encoded ObjectRecord
  ObjectRecord rec_;        // scratch for encoding (vectors keep their capacity)

  // Data file.
  bool file_started_ = false;  // openat issued: not inline
  FileId file_;
  uint32_t dir_ = 0;
  int fd_ = -1;
  int dir_fd_ = -1;
  int parent_fd_ = -1;
  bool temp_exists_ = false;   // tmp/<id> exists and must be unlinked on failure
  bool final_exists_ = false;  // renamed, not committed: unlinked on a refused enqueue
  bool created_l1_ = false;
  bool created_l2_ = false;
  bool mkdir_tried_ = false;
  uint32_t parent_syncs_ = 0;
  uint64_t expected_ = UINT64_MAX;  // declared body size (ExpectSize), UINT64_MAX: unknown
  bool direct_ = false;            // fd_ is open with O_DIRECT
  bool opened_direct_ = false;     // the data file was opened with O_DIRECT (stats)
  bool open_direct_ = false;       // the open in flight asked for O_DIRECT
  bool preallocating_ = false;     // fallocate in flight: writes wait for it
  char name_[33] = {};     // "<32 hex>": temp and final file name
  char l1_[3] = {};        // "<xx>"
  char l2_[6] = {};        // "<xx>/<yy>"
  char unlink_path_[64] = {};  // path of the file being unlinked on failure

  // Staging.
  std::array<Chunk, kMaxChunks> chunks_{};
  uint32_t max_chunks_ = 4;
  uint32_t held_ = 0;     // chunks with a buffer
  int fill_ = -1;         // chunk being filled
  uint64_t total_ = 0;    // bytes taken
  uint64_t staged_off_ = 0;  // file offset of the next chunk
  uint32_t writes_in_flight_ = 0;
  uint32_t ops_in_flight_ = 0;

  // Hashes.
  EVP_MD_CTX* md5_ = nullptr;
  XXH3_state_t* xxh_ = nullptr;

  // Flow and completion.
  WriteReadyCallback ready_cb_ = nullptr;
  void* ready_ctx_ = nullptr;
  bool want_ready_ = false;
  PutCallback done_cb_ = nullptr;
  void* done_ctx_ = nullptr;
  bool finishing_ = false;
  bool aborted_ = false;
  bool failed_ = false;
  bool done_called_ = false;
  bool kick_pending_ = false;
  Status error_;
  PutResult result_;

  // Commit (fields below the line are the commit thread's while commit_outstanding_).
  bool commit_outstanding_ = false;
  CommitRequest commit_;
  CommitMsg msg_;
  PutCondition cond_;
  bool refused_ = false;  // the prepare hook refused the commit: nothing was written
  Status commit_status_;
  std::string old_value_;
  ObjectRecord old_rec_;
  PartRecord old_part_;
  std::vector<FileRef> old_files_;  // data files of the record this commit replaced

  // Multipart part mode (ObjectIo::BeginPart): the commit writes a PartRecord.
  bool part_mode_ = false;
  UploadId upload_;
  std::string upload_key_;  // its uploads CF key: checked at commit time
  uint32_t part_number_ = 0;
  uint64_t inline_limit_ = 0;  // bodies up to this size stay inline
  PartRecord part_rec_;
  std::string fault_subject_;  // "<upload id hex>/<part number>" (fault injection only)
};

/// Where a GET's data goes.
struct ReadHandler {
  /// The next piece of the range, in order. `data` stays valid until the caller calls
  /// reader->More() (which asks for the next piece) or reader->Cancel(). Never empty.
  void (*on_data)(void* ctx, ObjectReader* reader, std::string_view data) = nullptr;
  /// The read ended: OK after the last piece was handed out and released with More() (a full
  /// read's XXH3 matched); Corruption (hash mismatch, truncated file); NotFound when the data
  /// file is gone before it was opened — the record was replaced: look it up again and retry;
  /// IoError. The reader is gone after this.
  void (*on_done)(void* ctx, Status status) = nullptr;
};

/// One GET in progress. Obtained from ObjectIo::BeginGet.
class ObjectReader final : public OpOwner {
 public:
  /// Releases the piece last handed to on_data; the next one (or on_done) follows, never
  /// inside this call.
  void More() noexcept;
  /// Stops the read: no callback runs any more; buffers and the fd are released once in-flight
  /// reads complete.
  void Cancel() noexcept;

  explicit ObjectReader(ObjectIo* io);
  ~ObjectReader() override;
  ObjectReader(const ObjectReader&) = delete;
  ObjectReader& operator=(const ObjectReader&) = delete;

  void OnOp(uint8_t kind, uint32_t arg, int res) noexcept override;
  std::string_view FaultSubject() noexcept override { return path_; }

 private:
  friend class ObjectIo;
  enum class SlotState : uint8_t { kFree, kReading, kReady, kHeld };
  struct Slot {
    uint8_t* buf = nullptr;
    uint64_t off = 0;
    uint32_t want = 0;
    uint32_t got = 0;
    SlotState state = SlotState::kFree;
  };
  static constexpr uint32_t kMaxSlots = 8;

  void IssueReads() noexcept;
  void Step() noexcept;
  void Fail(Status st) noexcept;
  void Settle() noexcept;
  void Schedule() noexcept;
  static void StepFn(void* self);

  ObjectIo* io_;
  bool active_ = false;
  bool inline_ = false;
  std::string inline_copy_;
  uint64_t begin_ = 0;
  uint64_t end_ = 0;
  bool full_ = false;
  Hash128 expect_;
  FileId file_;
  uint32_t dir_ = 0;
  bool opening_ = false;
  int fd_ = -1;
  char path_[64] = {};
  std::array<Slot, kMaxSlots> slots_{};
  uint32_t depth_ = 2;
  int held_ = -1;
  uint64_t next_read_ = 0;
  uint64_t next_deliver_ = 0;
  uint32_t ops_in_flight_ = 0;
  bool cancelled_ = false;
  bool failed_ = false;
  bool done_called_ = false;
  bool step_pending_ = false;
  Status status_;
  ReadHandler handler_;
  void* ctx_ = nullptr;
  XXH3_state_t* xxh_ = nullptr;
};

/// The object data path of one shard. Create it on the shard's thread (in Shard::Start's
/// setup), call Init(), and keep it until the shard's loop has ended.
class ObjectIo {
 public:
  ObjectIo(core::Shard& shard, NodeStore& node, ObjectIoOptions options = {});
  ~ObjectIo();
  ObjectIo(const ObjectIo&) = delete;
  ObjectIo& operator=(const ObjectIo&) = delete;

  /// Opens the data dirs (creating objects/ and tmp/ in each), registers the Op::kFile handler
  /// and a stop hook with the shard. Blocking: start-up, on the shard's thread.
  [[nodiscard]] Status Init();

  /// A writer for bucket/key. ResourceExhausted if the chunk buffers cannot be allocated;
  /// Cancelled once the shard is stopping.
  [[nodiscard]] Result<ObjectWriter*> BeginPut(BucketId bucket, std::string_view key) noexcept;
  /// A writer for part `part_number` of multipart upload `upload` (of `key` in `bucket`): the
  /// same data path, but
  /// every non-empty body gets a data file (a completed object references part files, it does
  /// not copy them) and Finish() commits a PartRecord under PartKey (only `meta.checksums` is
  /// used). A part uploaded again under the same number replaces the old one, whose file
  /// becomes garbage like an overwritten object's. The commit-time hook checks that the upload
  /// still exists: if a Complete, Abort or the expiry sweep ended it first, the PUT fails with
  /// NotFound("NoSuchUpload") and its file is removed (no part outlives its upload).
  [[nodiscard]] Result<ObjectWriter*> BeginPart(BucketId bucket, std::string_view key,
                                                const UploadId& upload,
                                                uint32_t part_number) noexcept;

  /// Starts reading [offset, offset + length) of the object `record` describes (length is
  /// clipped to the object; UINT64_MAX: to the end). The record (and the buffer it borrows
  /// from) needs to live only during this call. A read of the whole object verifies XXH3-128.
  /// InvalidArgument if offset > size; Corruption if the record names an unknown data dir.
  [[nodiscard]] Result<ObjectReader*> BeginGet(const ObjectRecord& record, uint64_t offset,
                                               uint64_t length, ReadHandler handler,
                                               void* ctx) noexcept;
  /// An inline object's bytes [offset, offset + length) (length clipped to the object), a view
  /// into record.location.inline_data: no reader, no copy, no deferred step, so a small GET is
  /// answered in the same turn of the loop with its head. A read of the whole object verifies
  /// XXH3-128 as BeginGet does (Corruption, counted, when it differs). Counted as a GET.
  /// InvalidArgument if the record is not inline or offset > size.
  [[nodiscard]] Result<std::string_view> ReadInline(const ObjectRecord& record, uint64_t offset,
                                                    uint64_t length) noexcept;

  /// Deletes the object's record through the CommitQueue; its data file (if any) is unlinked
  /// after the grace period. OK: `cb` runs later on this shard. An error (queue full, stopping):
  /// nothing happened and `cb` will not run.
  [[nodiscard]] Status Delete(BucketId bucket, std::string_view key, DeleteCallback cb,
                              void* ctx) noexcept;
  /// Deletes several keys of one bucket in one commit (DeleteObjects); absent keys are fine.
  [[nodiscard]] Status DeleteMany(BucketId bucket, const std::vector<std::string>& keys,
                                  DeleteCallback cb, void* ctx) noexcept;
  /// Replaces the tags of an existing object (`tags` empty: removes them), read-modify-write
  /// inside the commit thread, so a concurrent PUT is never undone. `cb(ctx, OK, false)`: no
  /// such key. The data file is untouched.
  [[nodiscard]] Status SetTags(BucketId bucket, std::string_view key,
                               const std::vector<KeyValue>& tags, DeleteCallback cb,
                               void* ctx) noexcept;

  /// A pooled MetaOp with an empty batch. Cancelled once the shard is stopping.
  [[nodiscard]] Result<MetaOp*> NewMetaOp() noexcept;
  /// Enqueues the op's batch. OK: `cb` runs later on this shard, after the garbage (on
  /// success) was queued for unlinking; the op returns to the pool. An error (queue full):
  /// nothing happened, `cb` will not run, the op is back in the pool.
  [[nodiscard]] Status Submit(MetaOp* op, MetaOpCallback cb, void* ctx) noexcept;
  /// Returns an op that will not be submitted.
  void Discard(MetaOp* op) noexcept;

  const ObjectIoStats& stats() const noexcept { return stats_; }
  const ObjectIoOptions& options() const noexcept { return options_; }
  /// Ring ops in flight, commits outstanding and files waiting for their grace period.
  uint32_t ops_in_flight() const noexcept { return slots_in_use_; }
  uint32_t commits_outstanding() const noexcept { return commits_outstanding_; }
  std::size_t garbage_pending() const noexcept { return garbage_.size(); }
  /// Nothing in flight, nothing waiting: the shard may stop.
  bool Drained() const noexcept {
    return slots_in_use_ == 0 && commits_outstanding_ == 0 && garbage_.empty() &&
           unlinks_in_flight_ == 0;
  }
  /// Unlinks every file waiting for its grace period now (shutdown, tests).
  void FlushGarbage() noexcept;

 private:
  friend class ObjectWriter;
  friend class ObjectReader;
  struct DirFds {
    int root = -1;
    int objects = -1;
    int tmp = -1;
    bool no_direct = false;  // the filesystem refused O_DIRECT: buffered writes only
  };
  struct OpSlot {
    OpOwner* owner = nullptr;
    uint32_t gen = 0;
    uint32_t arg = 0;
    uint32_t next_free = 0;
    uint8_t kind = 0;
    int injected = 0;  // fault injection: the op became a NOP that completes with -injected
  };
  struct Garbage {
    int64_t due_ms = 0;
    uint32_t dir = 0;
    FileId file;
  };
  class UnlinkOp final : public OpOwner {
   public:
    explicit UnlinkOp(ObjectIo* io) : io_(io) {}
    void OnOp(uint8_t kind, uint32_t arg, int res) noexcept override;
    std::string_view FaultSubject() noexcept override { return path_; }
    ObjectIo* io_;
    char path_[64] = {};
  };
  static Status MetaOpPrepare(void* ctx, const CommitView& view, MetaBatch* batch);
  static Status TagsPrepare(void* ctx, const CommitView& view, MetaBatch* batch);
  static Status CheckedPrepare(void* ctx, const CommitView& view, MetaBatch* batch);
  struct SweepTimer : core::Timer {
    ObjectIo* io = nullptr;
  };

  // Ring ops: an SQE whose user_data names a fresh slot for (owner, kind, arg).
  io_uring_sqe* Sqe() noexcept { return shard_.ring().Sqe(); }
  void Track(io_uring_sqe* sqe, OpOwner* owner, uint8_t kind, uint32_t arg) noexcept;
  static int MaybeInjectFault(io_uring_sqe* sqe, OpOwner* owner, uint8_t kind) noexcept;
  static void OnCompletion(void* ctx, io_uring_cqe* cqe);

  uint8_t* GetBuffer() noexcept;
  void PutBuffer(uint8_t* buf) noexcept;
  void ReleaseWriter(ObjectWriter* w) noexcept;
  void ReleaseReader(ObjectReader* r) noexcept;

  // Replaced data files.
  void AddGarbage(uint32_t dir, const FileId& file) noexcept;
  void Sweep(bool force) noexcept;
  void UnlinkNow(uint32_t dir, const FileId& file) noexcept;
  void ArmSweep() noexcept;
  static void OnSweep(core::Timer* t);
  void ReaderOpening(const FileId& file, int delta) noexcept;
  bool HasOpeningReader(const FileId& file) const noexcept;

  static void MetaOpCommitted(void* ctx, Status st);
  static void OnMetaOpMsg(core::Shard& shard, core::Message* m);
  Result<ObjectWriter*> NewWriter() noexcept;
  static void OnStop(void* self);
  static bool IsDrained(void* self);

  core::Shard& shard_;
  NodeStore& node_;
  ObjectIoOptions options_;
  std::vector<DirFds> dirs_;
  EVP_MD* md5_md_ = nullptr;
  bool stopping_ = false;

  std::vector<OpSlot> slots_;
  uint32_t free_slot_ = UINT32_MAX;
  uint32_t slots_in_use_ = 0;
  uint32_t commits_outstanding_ = 0;

  std::vector<uint8_t*> free_buffers_;
  std::vector<std::unique_ptr<ObjectWriter>> writers_;
  std::vector<ObjectWriter*> free_writers_;
  std::vector<std::unique_ptr<ObjectReader>> readers_;
  std::vector<ObjectReader*> free_readers_;
  std::vector<std::unique_ptr<MetaOp>> meta_ops_;
  std::vector<MetaOp*> free_meta_ops_;
  std::vector<std::unique_ptr<UnlinkOp>> unlinks_;
  std::vector<UnlinkOp*> free_unlinks_;
  uint32_t unlinks_in_flight_ = 0;

  std::deque<Garbage> garbage_;
  std::vector<std::pair<FileId, uint32_t>> opening_;  // readers opening a file (tiny)
  core::TimerList sweep_list_;
  SweepTimer sweep_timer_;

  ObjectIoStats stats_;
};

}  // namespace mamute::store
