#include "store/meta_db.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

#include "store/dirs.h"
#include "store/fault_fs.h"
#include "util/log.h"

namespace mamute::store {
namespace {

constexpr std::array<std::string_view, kCfCount> kCfNames = {
    "buckets", "bucket_names", "objects", "uploads", "parts", "credentials", "apikeys", "mgmt", "dirs",
};

bool IsBigCf(Cf cf) {
  return cf == Cf::kObjects || cf == Cf::kUploads || cf == Cf::kParts || cf == Cf::kDirs;
}

bool Supported(const std::vector<rocksdb::CompressionType>& v, rocksdb::CompressionType t) {
  return std::find(v.begin(), v.end(), t) != v.end();
}

rocksdb::ColumnFamilyOptions CfOptions(Cf cf, const MetaDbOptions& o,
                                       const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions c;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.block_size = o.data_block_bytes;
  t.block_restart_interval = o.block_restart_interval;
  t.format_version = 5;
  // Index and filter blocks compete for the cache instead of growing without bound; L0's stay
  // pinned because every lookup touches them.
  t.cache_index_and_filter_blocks = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  if (o.bloom_bits_per_key > 0) {
    // Whole-key filters: HEAD/GET/credential lookups are point reads; listings are range scans
    // and do not use the filter.
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(o.bloom_bits_per_key));
    t.whole_key_filtering = true;
  }
  c.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  c.write_buffer_size = IsBigCf(cf) ? o.write_buffer_bytes : o.small_write_buffer_bytes;
  c.max_write_buffer_number = 4;
  c.level_compaction_dynamic_level_bytes = true;
  if (IsBigCf(cf) && o.bloom_bits_per_key > 0) {
    c.memtable_whole_key_filtering = true;
    c.memtable_prefix_bloom_size_ratio = 0.02;
  }
  const auto supported = rocksdb::GetSupportedCompressions();
  if (Supported(supported, rocksdb::kLZ4Compression)) {
    c.compression = rocksdb::kLZ4Compression;
  } else if (Supported(supported, rocksdb::kSnappyCompression)) {
    c.compression = rocksdb::kSnappyCompression;
  } else {
    c.compression = rocksdb::kNoCompression;
  }
  if (Supported(supported, rocksdb::kZSTD)) {
    c.bottommost_compression = rocksdb::kZSTD;
  }
  return c;
}

}  // namespace

// RocksDB's background-error notifications: a failed WAL write or sync (reason kWriteCallback),
// or a flush/compaction/manifest error. Severity hard or worse stops every write until
// recovery: RocksDB's own (hard errors such as ENOSPC) or DB::Resume (MetaDb::TryResume).
class MetaDb::Listener final : public rocksdb::EventListener {
 public:
  explicit Listener(MetaDb* db) : db_(db) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason /*reason*/, rocksdb::Status* error) override {
    db_->background_errors_.fetch_add(1, std::memory_order_relaxed);
    db_->OnStopped(static_cast<int>(error->severity()), error->ToString());
  }
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (info.new_bg_error.ok()) {
      db_->OnResumed();
    }
  }

 private:
  MetaDb* db_;
};

void MetaDb::OnStopped(int severity, const std::string& error) {
  {
    std::lock_guard<std::mutex> lk(health_mu_);
    last_error_ = error;
  }
  if (severity < rocksdb::Status::kHardError) {
    MLOG_WARN("metadata db: background error (RocksDB retries it, writes go on): %s", error.c_str());
    return;
  }
  stopped_.store(severity, std::memory_order_relaxed);
  if (severity >= rocksdb::Status::kFatalError) {
    MLOG_ERROR("metadata db: %.*s after a fatal error; writes answer 503 until the server is "
               "restarted (reads go on): %s",
               static_cast<int>(kMetaReadOnly.size()), kMetaReadOnly.data(), error.c_str());
  } else {
    MLOG_ERROR("metadata db: %.*s after an error; writes answer 503 until RocksDB recovers "
               "(DB::Resume is retried every second): %s",
               static_cast<int>(kMetaReadOnly.size()), kMetaReadOnly.data(), error.c_str());
  }
}

void MetaDb::OnResumed() {
  if (stopped_.exchange(0, std::memory_order_relaxed) != 0) {
    recoveries_.fetch_add(1, std::memory_order_relaxed);
    MLOG_WARN("metadata db: writes resumed after the background error");
  }
}

Status MetaDb::TryResume() {
  if (!WritesStopped()) {
    return Status::Ok();
  }
  rocksdb::Status s = db_->Resume();
  if (s.ok()) {
    OnResumed();
    return Status::Ok();
  }
  return FromRocks(s, "resume metadata db");
}

MetaDbHealth MetaDb::health() const {
  MetaDbHealth h;
  const int sev = stopped_.load(std::memory_order_relaxed);
  h.writes_stopped = sev != 0;
  h.fatal = sev >= rocksdb::Status::kFatalError;
  h.background_errors = background_errors_.load(std::memory_order_relaxed);
  h.recoveries = recoveries_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lk(health_mu_);
  h.last_error = last_error_;
  return h;
}

std::string_view CfName(Cf cf) noexcept { return kCfNames[static_cast<std::size_t>(cf)]; }

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) {
    return Status::Ok();
  }
  std::string msg(what);
  msg += ": ";
  msg += s.ToString();
  switch (s.code()) {
    case rocksdb::Status::kNotFound: return Status::NotFound(msg);
    case rocksdb::Status::kCorruption: return Status::Corruption(msg);
    case rocksdb::Status::kNotSupported: return Status::NotImplemented(msg);
    case rocksdb::Status::kInvalidArgument: return Status::InvalidArgument(msg);
    case rocksdb::Status::kIOError:
      if (s.subcode() == rocksdb::Status::kNoSpace) {
        return Status::FromErrno(ENOSPC, msg);
      }
      return Status::FromErrno(0, msg);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain: return Status::ResourceExhausted(msg);
    case rocksdb::Status::kTimedOut: return Status::Timeout(msg);
    case rocksdb::Status::kAborted:
    case rocksdb::Status::kShutdownInProgress: return Status::Cancelled(msg);
    default: return Status::Internal(msg);
  }
}

Result<std::unique_ptr<MetaDb>> MetaDb::Open(std::string_view data_dir,
                                             const MetaDbOptions& options) {
  std::unique_ptr<MetaDb> m(new MetaDb());
  m->path_ = std::string(data_dir) + "/meta";
  if (options.create_if_missing) {
    std::error_code ec;
    std::filesystem::create_directories(std::string(data_dir), ec);
    if (ec) {
      return Err(Status::FromErrno(ec.value(), "create data dir"));
    }
  }

  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = options.create_if_missing;
  // Always: a DB from before a column family was added (e.g. `dirs`) must open, also for
  // `mamute fsck` (create_if_missing = false only refuses to create a whole new DB).
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = options.max_background_jobs;
  // SST writes are smoothed; the WAL is synced explicitly by commits (WriteOptions::sync).
  db_opts.bytes_per_sync = 1 << 20;
  db_opts.use_fsync = false;  // fdatasync is enough for the WAL and SSTs
  db_opts.max_total_wal_size = 512u << 20;
  // Obsolete-file deletion runs in the background, never on the commit thread's Write().
  db_opts.avoid_unnecessary_blocking_io = true;
  db_opts.keep_log_file_num = 4;
  db_opts.max_log_file_size = 16u << 20;
  db_opts.recycle_log_file_num = static_cast<std::size_t>(options.recycle_wal_files);
  if (options.quiet_info_log) {
    db_opts.info_log_level = rocksdb::WARN_LEVEL;
  }
  db_opts.listeners.push_back(std::make_shared<Listener>(m.get()));
  // Test builds with MAMUTE_FAULTS armed: RocksDB's own WAL I/O can be made to fail.
  m->env_ = NewFaultEnvIfArmed();
  if (m->env_) {
    db_opts.env = m->env_.get();
  }

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  descs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (std::size_t i = 0; i < kCfCount; ++i) {
    descs.emplace_back(std::string(kCfNames[i]), CfOptions(static_cast<Cf>(i), options, cache));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_opts, m->path_, descs, &handles, &raw);
  if (!s.ok()) {
    return Err(FromRocks(s, "open metadata db " + m->path_));
  }
  m->db_.reset(raw);
  m->default_handle_ = handles[0];
  for (std::size_t i = 0; i < kCfCount; ++i) {
    m->handles_[i] = handles[i + 1];
  }
  if (options.build_dirs_index) {
    MAMUTE_RETURN_IF_ERROR_R(EnsureDirsIndex(*m));
  }
  return m;
}

MetaDb::~MetaDb() { Close().IgnoreError(); }

Status MetaDb::Close() {
  if (!db_) {
    return Status::Ok();
  }
  Status result;
  for (auto*& h : handles_) {
    if (h != nullptr) {
      rocksdb::Status s = db_->DestroyColumnFamilyHandle(h);
      if (!s.ok() && result.ok()) {
        result = FromRocks(s, "destroy column family handle");
      }
      h = nullptr;
    }
  }
  if (default_handle_ != nullptr) {
    db_->DestroyColumnFamilyHandle(default_handle_).PermitUncheckedError();
    default_handle_ = nullptr;
  }
  rocksdb::Status s = db_->Close();
  if (!s.ok() && result.ok()) {
    result = FromRocks(s, "close metadata db");
  }
  db_.reset();
  return result;
}

Status MetaDb::Get(Cf cf, std::string_view key, std::string* value) const {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handle(cf), rocksdb::Slice(key), value);
  if (s.IsNotFound()) {
    return Status::NotFound(CfName(cf));
  }
  return FromRocks(s, "metadata get");
}

Status MetaDb::Get(Cf cf, std::string_view key, rocksdb::PinnableSlice* value) const {
  value->Reset();
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handle(cf), rocksdb::Slice(key), value);
  if (s.IsNotFound()) {
    return Status::NotFound(CfName(cf));
  }
  return FromRocks(s, "metadata get");
}

Status MetaDb::Put(Cf cf, std::string_view key, std::string_view value, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(db_->Put(wo, handle(cf), rocksdb::Slice(key), rocksdb::Slice(value)),
                   "metadata put");
}

Status MetaDb::Delete(Cf cf, std::string_view key, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(db_->Delete(wo, handle(cf), rocksdb::Slice(key)), "metadata delete");
}

Status MetaDb::Write(rocksdb::WriteBatch* batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(db_->Write(wo, batch), "metadata write");
}

std::unique_ptr<rocksdb::Iterator> MetaDb::NewIterator(Cf cf,
                                                       const rocksdb::ReadOptions& opts) const {
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(opts, handle(cf)));
}

bool MetaDb::CfFromId(uint32_t id, Cf* cf) const noexcept {
  for (std::size_t i = 0; i < kCfCount; ++i) {
    if (handles_[i] != nullptr && handles_[i]->GetID() == id) {
      *cf = static_cast<Cf>(i);
      return true;
    }
  }
  return false;
}

Status MetaBatch::Put(Cf cf, std::string_view key, std::string_view value) {
  return FromRocks(batch_.Put(db_->handle(cf), rocksdb::Slice(key), rocksdb::Slice(value)),
                   "batch put");
}

Status MetaBatch::Delete(Cf cf, std::string_view key) {
  return FromRocks(batch_.Delete(db_->handle(cf), rocksdb::Slice(key)), "batch delete");
}

}  // namespace mamute::store
