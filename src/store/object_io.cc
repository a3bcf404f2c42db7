#include "store/object_io.h"

#include "store/xxh3.h"

#include <fcntl.h>
#include <rocksdb/db.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "core/fault.h"
#include "store/buckets.h"
#include "store/data_dirs.h"
#include "util/encoding.h"
#include "util/log.h"

namespace mamute::store {
namespace {

// Operation kinds, stored in the op slot (not in user_data: the slot's generation is).
enum Kind : uint8_t {
  kWOpen = 1,
  kWWrite,
  kWSync,
  kWClose,
  kWDirOpen,
  kWMkdir1,
  kWMkdir2,
  kWParentOpen,
  kWParentSync,
  kWRename,
  kWDirSync,
  kWUnlink,
  kROpen,
  kRRead,
  kRClose,
  kUnlink,
  kWWriteBehind,
  kWFallocate,
};

// O_DIRECT transfers are aligned to this (the largest logical block size in common use).
constexpr uint64_t kDirectAlign = 4096;

int64_t WallMs() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

std::string_view AsView(const uint8_t* p, std::size_t n) noexcept {
  return {reinterpret_cast<const char*>(p), n};
}

// Opens (creating if needed) a directory for use as a dirfd; blocking, start-up only.
Status OpenDirFd(const std::string& path, bool create, int* fd) {
  if (create && ::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::IoError(errno, "mkdir " + path);
  }
  *fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0) {
    return Status::IoError(errno, "open " + path);
  }
  return Status::Ok();
}

uint32_t SweepIntervalMs(const ObjectIoOptions& o) noexcept {
  return std::clamp<uint32_t>(o.unlink_grace_ms, 100, 1000);
}

// The data file's path relative to its data dir, into a fixed buffer.
void RelPath(const FileId& id, char (&out)[64]) noexcept {
  const std::string p = DataFileRelPath(id);
  const std::size_t n = std::min(p.size(), sizeof(out) - 1);
  std::memcpy(out, p.data(), n);
  out[n] = '\0';
}

}  // namespace

std::string PutResult::EtagHex() const { return util::HexEncode(md5.data(), md5.size()); }

// =============================================================================== ObjectWriter

ObjectWriter::ObjectWriter(ObjectIo* io) : io_(io), commit_(*io->node_.db) {
  md5_ = EVP_MD_CTX_new();
  xxh_ = XXH3_createState();
}

ObjectWriter::~ObjectWriter() {
  // Only at teardown with a PUT still open (the shard stopped at its deadline).
  for (int fd : {fd_, dir_fd_, parent_fd_}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  for (Chunk& c : chunks_) {
    std::free(c.buf);
  }
  EVP_MD_CTX_free(md5_);
  XXH3_freeState(xxh_);
}

void ObjectWriter::Reset(BucketId bucket, std::string_view key) {
  state_ = State::kStreaming;
  bucket_ = bucket;
  key_.assign(key);
  file_started_ = false;
  file_ = FileId{};
  dir_ = io_->options_.placement == nullptr
             ? io_->options_.write_dir
             : io_->options_.placement->Pick(XXH3_64bits_withSeed(key.data(), key.size(), bucket));
  fd_ = dir_fd_ = parent_fd_ = -1;
  temp_exists_ = final_exists_ = false;
  created_l1_ = created_l2_ = mkdir_tried_ = false;
  parent_syncs_ = 0;
  expected_ = UINT64_MAX;
  direct_ = open_direct_ = opened_direct_ = preallocating_ = false;
  max_chunks_ = std::clamp<uint32_t>(io_->options_.write_window_bytes / io_->options_.chunk_bytes,
                                     2, kMaxChunks);
  held_ = 0;
  fill_ = -1;
  total_ = 0;
  staged_off_ = 0;
  writes_in_flight_ = ops_in_flight_ = 0;
  ready_cb_ = nullptr;
  ready_ctx_ = nullptr;
  want_ready_ = false;
  done_cb_ = nullptr;
  done_ctx_ = nullptr;
  finishing_ = aborted_ = failed_ = done_called_ = kick_pending_ = false;
  error_ = Status::Ok();
  result_ = PutResult{};
  commit_outstanding_ = false;
  cond_ = PutCondition{};
  refused_ = false;
  old_files_.clear();
  part_mode_ = false;
  part_number_ = 0;
  inline_limit_ = io_->options_.inline_threshold;
}

int ObjectWriter::GrabChunk() noexcept {
  if (held_ >= max_chunks_) {
    return -1;
  }
  for (uint32_t i = 0; i < max_chunks_; ++i) {
    Chunk& c = chunks_[i];
    if (c.state != ChunkState::kFree) {
      continue;
    }
    c.buf = io_->GetBuffer();
    if (c.buf == nullptr) {
      Fail(Status::ResourceExhausted("out of memory for object staging buffers"));
      return -1;
    }
    ++held_;
    c.off = staged_off_;
    c.len = 0;
    c.done = 0;
    c.state = ChunkState::kFilling;
    return static_cast<int>(i);
  }
  return -1;
}

void ObjectWriter::ReleaseChunk(int i) noexcept {
  Chunk& c = chunks_[i];
  io_->PutBuffer(c.buf);
  c = Chunk{};
  --held_;
}

void ObjectWriter::QueueChunk(int i) noexcept {
  Chunk& c = chunks_[i];
  c.state = ChunkState::kQueued;
  staged_off_ += c.len;
  if (fd_ >= 0 && !preallocating_ && !failed_ && !aborted_) {
    SubmitWrite(i);
  }
}

void ObjectWriter::SubmitQueued() noexcept {
  for (uint32_t i = 0; i < max_chunks_; ++i) {
    if (chunks_[i].state == ChunkState::kQueued) {
      SubmitWrite(static_cast<int>(i));
    }
  }
}

// The rest of the file is written through the page cache: the body's last bytes past a whole
// block (O_DIRECT needs block-aligned offsets and lengths), or after a short or refused direct
// write. fcntl(F_SETFL) only changes the open file's flags: no disk I/O on the shard thread.
// Direct writes already in flight complete as they are; the closing fdatasync covers both.
void ObjectWriter::DropDirect() noexcept {
  direct_ = false;
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) != 0) {
    Fail(Status::IoError(errno, "clear O_DIRECT on a data file"));
  }
}

void ObjectWriter::SubmitWrite(int i) noexcept {
  Chunk& c = chunks_[i];
  if (direct_ && ((c.off + c.done) % kDirectAlign != 0 || (c.len - c.done) % kDirectAlign != 0)) {
    DropDirect();
    if (failed_) {
      return;  // still kQueued: Settle releases it
    }
  }
  c.state = ChunkState::kWriting;
  io_uring_sqe* sqe = io_->Sqe();
  io_uring_prep_write(sqe, fd_, c.buf + c.done, c.len - c.done, c.off + c.done);
  io_->Track(sqe, this, kWWrite, static_cast<uint32_t>(i));
  ++writes_in_flight_;
  ++ops_in_flight_;
}

void ObjectWriter::StartOpen() noexcept {
  file_started_ = true;
  file_ = FileId::Generate();
  const std::string hex = file_.ToHex();
  std::memcpy(name_, hex.data(), 32);
  name_[32] = '\0';
  l1_[0] = hex[0];
  l1_[1] = hex[1];
  l1_[2] = '\0';
  std::memcpy(l2_, hex.data(), 2);
  l2_[2] = '/';
  std::memcpy(l2_ + 3, hex.data() + 2, 2);
  l2_[5] = '\0';
  const ObjectIoOptions& o = io_->options_;
  SubmitOpen(o.direct_io && !io_->dirs_[dir_].no_direct && expected_ != UINT64_MAX &&
                 expected_ >= o.direct_io_min_bytes,
             /*exclusive=*/true);
}

void ObjectWriter::SubmitOpen(bool direct, bool exclusive) noexcept {
  open_direct_ = direct;
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  if (direct) {
    flags |= O_DIRECT;
  }
  io_uring_sqe* sqe = io_->Sqe();
  io_uring_prep_openat(sqe, io_->dirs_[dir_].tmp, name_, flags, 0644);
  io_->Track(sqe, this, kWOpen, 0);
  ++ops_in_flight_;
}

void ObjectWriter::OnOpened(int res) noexcept {
  const bool live = !failed_ && !aborted_;
  if (res == -EINVAL && open_direct_) {
    // The filesystem has no O_DIRECT (Linux creates the file before it checks the flag, so
    // the name may exist now: it is ours, a random id). Buffered from now on, for this dir.
    temp_exists_ = true;
    if (!io_->dirs_[dir_].no_direct) {
      io_->dirs_[dir_].no_direct = true;
      MLOG_WARN("object_io: data dir %u refuses O_DIRECT: buffered writes", dir_);
    }
    if (live) {
      SubmitOpen(/*direct=*/false, /*exclusive=*/false);
    }
    return;
  }
  if (res < 0) {
    Fail(Status::IoError(-res, "create temp data file"));
    return;
  }
  fd_ = res;
  temp_exists_ = true;
  direct_ = opened_direct_ = open_direct_;
  if (!live) {
    return;
  }
  if (direct_ && io_->options_.preallocate) {
    // Counted as a write: the fdatasync waits for it, and queued chunks follow it.
    preallocating_ = true;
    io_uring_sqe* sqe = io_->Sqe();
    io_uring_prep_fallocate(sqe, fd_, 0, 0, static_cast<off_t>(expected_));
    io_->Track(sqe, this, kWFallocate, 0);
    ++writes_in_flight_;
    ++ops_in_flight_;
    return;
  }
  SubmitQueued();
}

Result<std::size_t> ObjectWriter::Append(std::string_view data, WriteReadyCallback on_ready,
                                         void* ctx) noexcept {
  if (state_ != State::kStreaming || finishing_ || aborted_) {
    return Err(Status::FailedPrecondition("object writer is not taking data"));
  }
  if (failed_) {
    return Err(error_);
  }
  const uint32_t chunk = io_->options_.chunk_bytes;
  std::size_t taken = 0;
  while (taken < data.size()) {
    if (fill_ < 0) {
      fill_ = GrabChunk();
      if (fill_ < 0) {
        break;
      }
    }
    Chunk& c = chunks_[fill_];
    const std::size_t n = std::min<std::size_t>(chunk - c.len, data.size() - taken);
    std::memcpy(c.buf + c.len, data.data() + taken, n);
    c.len += static_cast<uint32_t>(n);
    taken += n;
    if (c.len == chunk) {
      QueueChunk(fill_);
      fill_ = -1;
    }
  }
  if (taken > 0) {
    EVP_DigestUpdate(md5_, data.data(), taken);
    Xxh3Update(xxh_, data.data(), taken);
    total_ += taken;
  }
  if (failed_) {
    return Err(error_);
  }
  if (!file_started_ && total_ > inline_limit_) {
    StartOpen();
  }
  if (taken < data.size()) {
    want_ready_ = true;
    ready_cb_ = on_ready;
    ready_ctx_ = ctx;
  }
  return taken;
}

void ObjectWriter::Finish(const ObjectRecord& meta, const uint8_t* expected_md5, PutCallback cb,
                          void* ctx) noexcept {
  if (state_ != State::kStreaming || finishing_ || aborted_) {
    MLOG_ERROR("object_io: Finish on a writer that is not streaming");
    return;
  }
  finishing_ = true;
  done_cb_ = cb;
  done_ctx_ = ctx;
  want_ready_ = false;
  if (failed_) {
    Kick();
    return;
  }
  unsigned int md_len = 0;
  if (EVP_DigestFinal_ex(md5_, result_.md5.data(), &md_len) != 1 || md_len != 16) {
    Fail(Status::Internal("MD5 finalisation failed"));
    Kick();
    return;
  }
  const XXH128_hash_t h = XXH3_128bits_digest(xxh_);
  result_.xxh3 = Hash128{h.low64, h.high64};
  result_.size = total_;
  result_.mtime_ms = WallMs();
  if (expected_md5 != nullptr && std::memcmp(expected_md5, result_.md5.data(), 16) != 0) {
    Fail(Status::InvalidArgument("BadDigest: the Content-MD5 does not match the body"));
    Kick();
    return;
  }

  if (part_mode_) {
    EncodePartRecord(meta);
  } else {
    EncodeObjectRecord(meta);
  }

  if (!file_started_) {
    if (fill_ >= 0) {
      ReleaseChunk(fill_);
      fill_ = -1;
    }
    Commit();
    if (failed_) {
      Kick();
    }
    return;
  }
  if (fill_ >= 0) {
    if (chunks_[fill_].len > 0) {
      QueueChunk(fill_);
    } else {
      ReleaseChunk(fill_);
    }
    fill_ = -1;
  }
  Advance();
}

void ObjectWriter::SetLocation(DataLocation* loc) noexcept {
  *loc = DataLocation{};
  if (!file_started_) {
    loc->kind = LocationKind::kInline;
    if (fill_ >= 0) {
      loc->inline_data = AsView(chunks_[fill_].buf, chunks_[fill_].len);
    }
    result_.location = LocationKind::kInline;
    return;
  }
  loc->kind = LocationKind::kFile;
  loc->file = file_;
  loc->data_dir = dir_;
  result_.location = LocationKind::kFile;
  result_.file = file_;
  result_.data_dir = dir_;
}

void ObjectWriter::EncodePartRecord(const ObjectRecord& meta) noexcept {
  part_rec_.size = total_;
  part_rec_.mtime_ms = result_.mtime_ms;
  part_rec_.etag_md5 = AsView(result_.md5.data(), result_.md5.size());
  part_rec_.xxh3 = result_.xxh3;
  part_rec_.checksums = meta.checksums;
  SetLocation(&part_rec_.location);
  EncodePart(part_rec_, &record_buf_);
  part_rec_.location.inline_data = {};
  part_rec_.checksums.clear();
  key_buf_ = PartKey(upload_, part_number_);
}

void ObjectWriter::EncodeObjectRecord(const ObjectRecord& meta) noexcept {
  rec_ = meta;  // reuses the scratch record's vector capacity
  rec_.size = total_;
  rec_.mtime_ms = result_.mtime_ms;
  rec_.etag_kind = EtagKind::kMd5;
  rec_.etag = AsView(result_.md5.data(), result_.md5.size());
  rec_.xxh3 = result_.xxh3;
  rec_.part_sizes.clear();
  rec_.parts.clear();
  SetLocation(&rec_.location);
  EncodeObject(rec_, &record_buf_);
  rec_.location.inline_data = {};
  key_buf_.clear();
  AppendObjectKey(&key_buf_, bucket_, key_);
}

void ObjectWriter::Abort() noexcept {
  if (state_ != State::kStreaming || finishing_ || aborted_) {
    return;
  }
  aborted_ = true;
  want_ready_ = false;
  Kick();
}

void ObjectWriter::Kick() noexcept {
  if (!kick_pending_) {
    kick_pending_ = true;
    io_->shard_.Defer(&ObjectWriter::KickFn, this);
  }
}

void ObjectWriter::KickFn(void* self) {
  auto* w = static_cast<ObjectWriter*>(self);
  w->kick_pending_ = false;
  if (w->failed_ || w->aborted_) {
    w->Settle();
  } else if (w->finishing_) {
    w->Advance();
  }
}

void ObjectWriter::Fail(Status st) noexcept {
  if (failed_) {
    return;
  }
  failed_ = true;
  if (st.code() == Code::kNoSpace) {
    io_->stats_.enospc.fetch_add(1, std::memory_order_relaxed);
    if (file_started_ && io_->options_.placement != nullptr) {
      io_->options_.placement->NoteFull(dir_);
    }
  }
  error_ = std::move(st);
}

void ObjectWriter::CloseFd(int* fd) noexcept {
  io_uring_sqe* sqe = io_->Sqe();
  io_uring_prep_close(sqe, *fd);
  io_->Track(sqe, this, kWClose, 0);
  ++ops_in_flight_;
  *fd = -1;
}

void ObjectWriter::Advance() noexcept {
  if (failed_ || aborted_ || state_ != State::kStreaming || !file_started_) {
    return;
  }
  if (fd_ < 0 || writes_in_flight_ > 0) {
    return;  // still opening, or writes outstanding: their completions come back here
  }
  state_ = State::kSyncing;
  io_uring_sqe* sqe = io_->Sqe();
  io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC);
  io_->Track(sqe, this, kWSync, 0);
  ++ops_in_flight_;
}

void ObjectWriter::OpenDir() noexcept {
  state_ = State::kDirOpen;
  io_uring_sqe* sqe = io_->Sqe();
  io_uring_prep_openat(sqe, io_->dirs_[dir_].objects, l2_, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  io_->Track(sqe, this, kWDirOpen, 0);
  ++ops_in_flight_;
}

void ObjectWriter::Commit() noexcept {
  state_ = State::kCommitting;
  commit_.batch.Clear();
  Status st = commit_.batch.Put(part_mode_ ? Cf::kParts : Cf::kObjects, key_buf_, record_buf_);
  if (!st.ok()) {
    Fail(std::move(st));
    return;
  }
  refused_ = false;
  commit_.callback = &ObjectWriter::CommitDone;
  commit_.prepare = &ObjectWriter::CommitPrepare;
  commit_.ctx = this;
  st = io_->node_.commits->Enqueue(&commit_);
  if (!st.ok()) {
    // Refused before anything was written: the renamed file is ours to remove.
    Fail(std::move(st));
    return;
  }
  commit_outstanding_ = true;
  ++io_->commits_outstanding_;
}

namespace {

std::string_view TrimEtagItem(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '"')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '"')) {
    v.remove_suffix(1);
  }
  return v;
}

// If-Match list ("*" or ETags, quoted or not) against a record's ETag.
bool EtagListHas(std::string_view list, const ObjectRecord& rec) {
  const std::string etag = FormatEtag(rec.etag_kind, rec.etag);  // quoted
  const std::string_view hex = TrimEtagItem(etag);
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = list.find(',', pos);
    std::string_view item = TrimEtagItem(list.substr(pos, comma == std::string_view::npos
                                                               ? std::string_view::npos
                                                               : comma - pos));
    if (item == "*" || item == hex) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    pos = comma + 1;
  }
  return false;
}

}  // namespace

// On the commit thread, serialized with every other commit: read the record this PUT replaces
// (seeing earlier commits of the same group), check the PUT's condition against it, and note
// its data file for the garbage list.
Status ObjectWriter::CommitPrepare(void* ctx, const CommitView& view, MetaBatch* /*batch*/) {
  auto* w = static_cast<ObjectWriter*>(ctx);
  w->old_files_.clear();
  const Cf cf = w->part_mode_ ? Cf::kParts : Cf::kObjects;
  if (w->part_mode_) {
    // The upload must still exist, in commit order: a part committed after the Complete, Abort
    // or expiry that ended its upload would be an orphan no one removes.
    Status up = view.Get(Cf::kUploads, w->upload_key_, &w->old_value_);
    if (!up.ok()) {
      w->refused_ = true;
      return up.code() == Code::kNotFound ? Status::NotFound("NoSuchUpload") : up;
    }
  }
  if (!w->part_mode_) {
    // The bucket must still exist, in commit order: a PUT authorized before a bucket deletion
    // must not add a record after it (the purge may already have scanned the bucket).
    // (A part is covered by its upload: the purge removes every upload, and the check above
    // refuses a part whose upload is gone.)
    Status live = CheckBucketLive(view, w->bucket_);
    if (!live.ok()) {
      w->refused_ = true;
      return live;
    }
  }
  Status st = view.Get(cf, w->key_buf_, &w->old_value_);
  const bool exists = st.ok();
  if (!exists && st.code() != Code::kNotFound) {
    w->refused_ = true;
    return st;
  }
  if (exists) {
    if (w->part_mode_) {
      if (DecodePart(w->old_value_, &w->old_part_).ok() &&
          w->old_part_.location.kind == LocationKind::kFile) {
        w->old_files_.push_back(FileRef{w->old_part_.location.data_dir, w->old_part_.location.file});
      }
    } else if (!DecodeObject(w->old_value_, &w->old_rec_).ok()) {
      // An undecodable record is replaced (its files, if any, are left to fsck); a condition
      // cannot be judged against it.
      if (w->cond_.if_match) {
        w->refused_ = true;
        return Status::FailedPrecondition("PreconditionFailed");
      }
    } else {
      AppendDataFiles(w->old_rec_, &w->old_files_);  // one file, or every part's
    }
    // Never our own file (a retried commit of the same record).
    std::erase(w->old_files_, FileRef{w->dir_, w->file_});
  }
  if ((w->cond_.if_none_match_any && exists) ||
      (w->cond_.if_match && (!exists || !EtagListHas(w->cond_.if_match_list, w->old_rec_)))) {
    w->old_files_.clear();
    w->refused_ = true;
    return Status::FailedPrecondition("PreconditionFailed");
  }
  return Status::Ok();
}

void ObjectWriter::CommitDone(void* ctx, Status st) {
  auto* w = static_cast<ObjectWriter*>(ctx);
  w->commit_status_ = std::move(st);
  w->msg_.fn = &ObjectWriter::OnCommitted;
  w->msg_.writer = w;
  w->io_->shard_.Post(&w->msg_);
}

void ObjectWriter::OnCommitted(core::Shard& /*shard*/, core::Message* m) {
  ObjectWriter* w = static_cast<CommitMsg*>(m)->writer;
  ObjectIo* io = w->io_;
  w->commit_outstanding_ = false;
  --io->commits_outstanding_;
  if (!w->commit_status_.ok()) {
    // A failed synced write may still be in the WAL (e.g. the WAL fsync failed) and come back
    // after a restart: keep the renamed file — fsck removes it if no record names it. A
    // commit its prepare hook refused, or the queue refused (RocksDB had stopped writes), was
    // never written: its file is removed now.
    w->final_exists_ = (w->refused_ || !w->commit_.attempted) && w->final_exists_;
    w->Fail(w->commit_status_);
    w->Settle();
    return;
  }
  w->final_exists_ = false;
  for (const FileRef& f : w->old_files_) {
    io->AddGarbage(f.dir, f.file);
  }
  io->stats_.puts.fetch_add(1, std::memory_order_relaxed);
  if (w->result_.location == LocationKind::kInline) {
    io->stats_.puts_inline.fetch_add(1, std::memory_order_relaxed);
  }
  if (w->opened_direct_) {
    io->stats_.puts_direct.fetch_add(1, std::memory_order_relaxed);
  }
  io->stats_.bytes_written.fetch_add(w->total_, std::memory_order_relaxed);
  w->state_ = State::kDone;
  w->done_called_ = true;
  w->done_cb_(w->done_ctx_, Status::Ok(), w->result_);
  w->MaybeRelease();
}

// Failure or abort: close what is open, remove what was created, then report (Finish) or just
// go (Abort). Runs again after each completion until nothing is left.
void ObjectWriter::Settle() noexcept {
  if (ops_in_flight_ > 0 || kick_pending_ || commit_outstanding_) {
    return;
  }
  if (fd_ >= 0) {
    CloseFd(&fd_);
    return;
  }
  if (dir_fd_ >= 0 || parent_fd_ >= 0) {
    if (dir_fd_ >= 0) {
      CloseFd(&dir_fd_);
    }
    if (parent_fd_ >= 0) {
      CloseFd(&parent_fd_);
    }
    return;
  }
  if (temp_exists_) {
    temp_exists_ = false;
    io_uring_sqe* sqe = io_->Sqe();
    io_uring_prep_unlinkat(sqe, io_->dirs_[dir_].tmp, name_, 0);
    io_->Track(sqe, this, kWUnlink, 0);
    ++ops_in_flight_;
    return;
  }
  if (final_exists_) {
    final_exists_ = false;
    std::snprintf(unlink_path_, sizeof(unlink_path_), "%s/%s", l2_, name_);
    io_uring_sqe* sqe = io_->Sqe();
    io_uring_prep_unlinkat(sqe, io_->dirs_[dir_].objects, unlink_path_, 0);
    io_->Track(sqe, this, kWUnlink, 0);
    ++ops_in_flight_;
    return;
  }
  for (uint32_t i = 0; i < kMaxChunks; ++i) {
    if (chunks_[i].state != ChunkState::kFree) {
      ReleaseChunk(static_cast<int>(i));
    }
  }
  fill_ = -1;
  if (!done_called_) {
    if (!finishing_ && !aborted_) {
      return;  // failed while the caller was not waiting: it learns at Append/Finish
    }
    done_called_ = true;
    state_ = State::kDone;
    if (aborted_ && !failed_) {
      io_->stats_.aborts.fetch_add(1, std::memory_order_relaxed);
    } else {
      io_->stats_.put_failures.fetch_add(1, std::memory_order_relaxed);
    }
    if (finishing_ && !aborted_) {
      done_cb_(done_ctx_, error_, result_);
    }
  }
  MaybeRelease();
}

void ObjectWriter::MaybeRelease() noexcept {
  if (state_ != State::kDone || !done_called_ || ops_in_flight_ > 0 || commit_outstanding_ ||
      kick_pending_ || fd_ >= 0 || dir_fd_ >= 0 || parent_fd_ >= 0) {
    return;
  }
  for (uint32_t i = 0; i < kMaxChunks; ++i) {
    if (chunks_[i].state != ChunkState::kFree) {
      ReleaseChunk(static_cast<int>(i));
    }
  }
  state_ = State::kIdle;
  io_->ReleaseWriter(this);
}

void ObjectWriter::OnOp(uint8_t kind, uint32_t arg, int res) noexcept {
  --ops_in_flight_;
  const bool live = !failed_ && !aborted_;
  switch (kind) {
    case kWWrite: {
      --writes_in_flight_;
      Chunk& c = chunks_[arg];
      if (res == -EINVAL && direct_ && live) {
        // The filesystem took the O_DIRECT open but refuses the transfer (e.g. a logical block
        // larger than 4 KiB): this file and every later one of the dir go buffered.
        io_->dirs_[dir_].no_direct = true;
        MLOG_WARN("object_io: data dir %u refuses O_DIRECT writes: buffered writes", dir_);
        DropDirect();
        if (!failed_) {
          SubmitWrite(static_cast<int>(arg));
          return;
        }
      }
      if (res < 0) {
        Fail(Status::IoError(-res, "write object data"));
      } else if (res == 0) {
        Fail(Status::IoError(EIO, "write object data: no progress"));
      } else {
        c.done += static_cast<uint32_t>(res);
        if (c.done < c.len && live) {
          // Short write: the rest (ENOSPC shows next; buffered if no longer block-aligned).
          SubmitWrite(static_cast<int>(arg));
          return;
        }
        if (live && !finishing_ && !direct_ && io_->options_.write_behind) {
          // Start writeback of this chunk now (sync_file_range WRITE: no wait, no metadata),
          // so the device works while the body streams in and the closing fdatasync finds
          // little left to write. Counted as a write: fdatasync waits for it.
          io_uring_sqe* sqe = io_->Sqe();
          io_uring_prep_sync_file_range(sqe, fd_, c.len, c.off, SYNC_FILE_RANGE_WRITE);
          io_->Track(sqe, this, kWWriteBehind, 0);
          ++writes_in_flight_;
          ++ops_in_flight_;
        }
      }
      ReleaseChunk(static_cast<int>(arg));
      break;
    }
    case kWWriteBehind:
      // Advisory: a failure here shows again in the fdatasync that follows.
      --writes_in_flight_;
      break;
    case kWOpen:
      OnOpened(res);
      break;
    case kWFallocate:
      --writes_in_flight_;
      preallocating_ = false;
      if (res == -ENOSPC || res == -EDQUOT) {
        Fail(Status::IoError(-res, "preallocate data file"));  // disk full: before the body
      } else if (live) {
        // Other errors (EOPNOTSUPP: no fallocate on this filesystem) only lose the hint.
        SubmitQueued();
      }
      break;
    case kWSync:
      if (res < 0) {
        Fail(Status::IoError(-res, "fdatasync data file"));
      } else if (live) {
        CloseFd(&fd_);
        OpenDir();
      }
      break;
    case kWDirOpen:
      if (res == -ENOENT && !mkdir_tried_) {
        mkdir_tried_ = true;
        state_ = State::kMkdir1;
        io_uring_sqe* sqe = io_->Sqe();
        io_uring_prep_mkdirat(sqe, io_->dirs_[dir_].objects, l1_, 0755);
        io_->Track(sqe, this, kWMkdir1, 0);
        ++ops_in_flight_;
      } else if (res < 0) {
        Fail(Status::IoError(-res, "open object directory"));
      } else {
        dir_fd_ = res;
        if (live) {
          state_ = State::kRename;
          io_uring_sqe* sqe = io_->Sqe();
          io_uring_prep_renameat(sqe, io_->dirs_[dir_].tmp, name_, dir_fd_, name_, 0);
          io_->Track(sqe, this, kWRename, 0);
          ++ops_in_flight_;
        }
      }
      break;
    case kWMkdir1:
    case kWMkdir2:
      if (res == 0) {
        (kind == kWMkdir1 ? created_l1_ : created_l2_) = true;
      } else if (res != -EEXIST) {
        Fail(Status::IoError(-res, "create object directory"));
        break;
      }
      if (!live) {
        break;
      }
      if (kind == kWMkdir1) {
        state_ = State::kMkdir2;
        io_uring_sqe* sqe = io_->Sqe();
        io_uring_prep_mkdirat(sqe, io_->dirs_[dir_].objects, l2_, 0755);
        io_->Track(sqe, this, kWMkdir2, 0);
        ++ops_in_flight_;
      } else if (io_->options_.sync_dirs && (created_l1_ || created_l2_)) {
        // New directory entries must be durable before a record may name a file below them.
        state_ = State::kParentOpen;
        io_uring_sqe* sqe = io_->Sqe();
        io_uring_prep_openat(sqe, io_->dirs_[dir_].objects, l1_, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                             0);
        io_->Track(sqe, this, kWParentOpen, 0);
        ++ops_in_flight_;
      } else {
        OpenDir();
      }
      break;
    case kWParentOpen:
      if (res < 0) {
        Fail(Status::IoError(-res, "open object directory"));
        break;
      }
      parent_fd_ = res;
      if (!live) {
        break;
      }
      state_ = State::kParentSync;
      parent_syncs_ = 0;
      if (created_l2_) {
        io_uring_sqe* sqe = io_->Sqe();
        io_uring_prep_fsync(sqe, parent_fd_, 0);
        io_->Track(sqe, this, kWParentSync, 0);
        ++ops_in_flight_;
        ++parent_syncs_;
      }
      if (created_l1_) {
        io_uring_sqe* sqe = io_->Sqe();
        io_uring_prep_fsync(sqe, io_->dirs_[dir_].objects, 0);
        io_->Track(sqe, this, kWParentSync, 0);
        ++ops_in_flight_;
        ++parent_syncs_;
      }
      break;
    case kWParentSync:
      if (res < 0) {
        Fail(Status::IoError(-res, "fsync object directory"));
      }
      if (--parent_syncs_ == 0 && !failed_ && !aborted_) {
        CloseFd(&parent_fd_);
        OpenDir();
      }
      break;
    case kWRename:
      if (res < 0) {
        Fail(Status::IoError(-res, "rename data file into place"));
        break;
      }
      temp_exists_ = false;
      final_exists_ = true;
      if (!live) {
        break;
      }
      if (io_->options_.sync_dirs) {
        state_ = State::kDirSync;
        io_uring_sqe* sqe = io_->Sqe();
        io_uring_prep_fsync(sqe, dir_fd_, 0);
        io_->Track(sqe, this, kWDirSync, 0);
        ++ops_in_flight_;
      } else {
        CloseFd(&dir_fd_);
        Commit();
      }
      break;
    case kWDirSync:
      if (res < 0) {
        Fail(Status::IoError(-res, "fsync object directory"));
      } else if (live) {
        CloseFd(&dir_fd_);
        Commit();
      }
      break;
    case kWUnlink:
      if (res < 0 && res != -ENOENT) {
        MLOG_WARN("object_io: unlink of a failed write's file %s: errno %d", name_, -res);
      }
      break;
    case kWClose:
    default:
      break;
  }
  if (state_ == State::kDone) {
    MaybeRelease();
    return;
  }
  if (failed_ || aborted_) {
    const bool notify = want_ready_ && !aborted_;
    want_ready_ = false;
    Settle();
    if (notify) {
      ready_cb_(ready_ctx_, error_);  // last: the caller may Abort() in here
    }
    return;
  }
  if (finishing_) {
    Advance();
    return;
  }
  if (want_ready_ && held_ < max_chunks_) {
    want_ready_ = false;
    ready_cb_(ready_ctx_, Status::Ok());  // last: the caller appends in here
  }
}

// =============================================================================== ObjectReader

ObjectReader::ObjectReader(ObjectIo* io) : io_(io), xxh_(XXH3_createState()) {}

ObjectReader::~ObjectReader() {
  if (fd_ >= 0) {
    ::close(fd_);  // teardown with a GET still open
  }
  for (Slot& s : slots_) {
    std::free(s.buf);
  }
  XXH3_freeState(xxh_);
}

void ObjectReader::Schedule() noexcept {
  if (!step_pending_) {
    step_pending_ = true;
    io_->shard_.Defer(&ObjectReader::StepFn, this);
  }
}

void ObjectReader::StepFn(void* self) {
  auto* r = static_cast<ObjectReader*>(self);
  r->step_pending_ = false;
  r->Step();
}

void ObjectReader::More() noexcept {
  if (!active_ || held_ < 0 || cancelled_ || done_called_) {
    return;
  }
  if (!inline_) {
    slots_[held_].state = SlotState::kFree;
  }
  held_ = -1;
  IssueReads();
  Schedule();
}

void ObjectReader::Cancel() noexcept {
  if (!active_ || cancelled_ || done_called_) {
    return;
  }
  cancelled_ = true;
  held_ = -1;
  Schedule();
}

void ObjectReader::Fail(Status st) noexcept {
  if (failed_) {
    return;
  }
  failed_ = true;
  status_ = std::move(st);
}

void ObjectReader::IssueReads() noexcept {
  if (fd_ < 0 || failed_ || cancelled_) {
    return;
  }
  const uint32_t chunk = io_->options_.chunk_bytes;
  for (uint32_t i = 0; i < depth_ && next_read_ < end_; ++i) {
    Slot& s = slots_[i];
    if (s.state != SlotState::kFree) {
      continue;
    }
    if (s.buf == nullptr) {
      s.buf = io_->GetBuffer();
      if (s.buf == nullptr) {
        Fail(Status::ResourceExhausted("out of memory for object read buffers"));
        return;
      }
    }
    s.off = next_read_;
    s.want = static_cast<uint32_t>(std::min<uint64_t>(chunk, end_ - next_read_));
    s.got = 0;
    s.state = SlotState::kReading;
    next_read_ += s.want;
    io_uring_sqe* sqe = io_->Sqe();
    io_uring_prep_read(sqe, fd_, s.buf, s.want, s.off);
    io_->Track(sqe, this, kRRead, i);
    ++ops_in_flight_;
  }
}

void ObjectReader::OnOp(uint8_t kind, uint32_t arg, int res) noexcept {
  --ops_in_flight_;
  switch (kind) {
    case kROpen:
      opening_ = false;
      io_->ReaderOpening(file_, -1);
      if (res == -ENOENT) {
        Fail(Status::NotFound("object data file is gone (replaced): look the record up again"));
      } else if (res < 0) {
        Fail(Status::IoError(-res, "open object data file"));
      } else {
        fd_ = res;
        IssueReads();
      }
      break;
    case kRRead: {
      Slot& s = slots_[arg];
      if (res < 0) {
        Fail(Status::IoError(-res, "read object data"));
        s.state = SlotState::kFree;
      } else if (res == 0) {
        if (!failed_) {  // read-ahead may hit the end twice: count and log once
          io_->stats_.corruption.fetch_add(1, std::memory_order_relaxed);
          MLOG_ERROR("object_io: data file %s is shorter than its record (%llu bytes)", path_,
                     static_cast<unsigned long long>(end_));
        }
        Fail(Status::Corruption("object data file is shorter than its record"));
        s.state = SlotState::kFree;
      } else {
        s.got += static_cast<uint32_t>(res);
        if (s.got < s.want && !failed_ && !cancelled_) {
          io_uring_sqe* sqe = io_->Sqe();
          io_uring_prep_read(sqe, fd_, s.buf + s.got, s.want - s.got, s.off + s.got);
          io_->Track(sqe, this, kRRead, arg);
          ++ops_in_flight_;
          return;
        }
        s.state = SlotState::kReady;
      }
      break;
    }
    case kRClose:
    default:
      break;
  }
  Step();
}

void ObjectReader::Step() noexcept {
  if (cancelled_ || done_called_) {
    Settle();
    return;
  }
  if (held_ >= 0) {
    return;  // the consumer still holds a piece
  }
  if (!failed_) {
    if (next_deliver_ < end_) {
      std::string_view piece;
      if (inline_) {
        const uint64_t n = std::min<uint64_t>(io_->options_.chunk_bytes, end_ - next_deliver_);
        piece = std::string_view(inline_copy_).substr(next_deliver_ - begin_, n);
        held_ = 0;
      } else {
        for (uint32_t i = 0; i < depth_; ++i) {
          Slot& s = slots_[i];
          if (s.state == SlotState::kReady && s.off == next_deliver_) {
            s.state = SlotState::kHeld;
            held_ = static_cast<int>(i);
            piece = AsView(s.buf, s.want);
            break;
          }
        }
        if (held_ < 0) {
          return;  // the next piece is still being read
        }
      }
      if (full_) {
        Xxh3Update(xxh_, piece.data(), piece.size());
      }
      next_deliver_ += piece.size();
      io_->stats_.bytes_read.fetch_add(piece.size(), std::memory_order_relaxed);
      handler_.on_data(ctx_, this, piece);  // last: the consumer may call More() in here
      return;
    }
    if (full_) {
      const XXH128_hash_t h = XXH3_128bits_digest(xxh_);
      if (Hash128{h.low64, h.high64} != expect_) {
        io_->stats_.corruption.fetch_add(1, std::memory_order_relaxed);
        MLOG_ERROR("object_io: XXH3-128 mismatch reading %s (%llu bytes)",
                   inline_ ? "inline object" : path_, static_cast<unsigned long long>(end_));
        Fail(Status::Corruption("object data does not match its XXH3-128"));
      }
    }
  }
  done_called_ = true;
  if (fd_ >= 0) {
    io_uring_sqe* sqe = io_->Sqe();
    io_uring_prep_close(sqe, fd_);
    io_->Track(sqe, this, kRClose, 0);
    ++ops_in_flight_;
    fd_ = -1;
  }
  if (failed_) {
    io_->stats_.get_failures.fetch_add(1, std::memory_order_relaxed);
  } else {
    io_->stats_.gets.fetch_add(1, std::memory_order_relaxed);
  }
  handler_.on_done(ctx_, status_);
  Settle();
}

void ObjectReader::Settle() noexcept {
  if (!active_ || ops_in_flight_ > 0 || step_pending_) {
    return;
  }
  if (fd_ >= 0) {
    io_uring_sqe* sqe = io_->Sqe();
    io_uring_prep_close(sqe, fd_);
    io_->Track(sqe, this, kRClose, 0);
    ++ops_in_flight_;
    fd_ = -1;
    return;
  }
  if (!done_called_ && !cancelled_) {
    return;
  }
  for (Slot& s : slots_) {
    if (s.buf != nullptr) {
      io_->PutBuffer(s.buf);
    }
    s = Slot{};
  }
  if (inline_copy_.capacity() > io_->options_.chunk_bytes) {
    std::string().swap(inline_copy_);
  }
  active_ = false;
  io_->ReleaseReader(this);
}

std::string_view ObjectWriter::FaultSubject() noexcept {
  // "<key>" or "<upload id>/<part number>", then "\n@dir<N>": a rule can pick one data dir.
  fault_subject_ = part_mode_ ? upload_.ToHex() + "/" + std::to_string(part_number_) : key_;
  fault_subject_ += "\n@dir" + std::to_string(dir_);
  return fault_subject_;
}

// =============================================================================== ObjectIo

ObjectIo::ObjectIo(core::Shard& shard, NodeStore& node, ObjectIoOptions options)
    : shard_(shard), node_(node), options_(options), sweep_list_(SweepIntervalMs(options)) {
  sweep_timer_.io = this;
  sweep_timer_.fire = &ObjectIo::OnSweep;
}

ObjectIo::~ObjectIo() {
  for (DirFds& d : dirs_) {
    for (int fd : {d.root, d.objects, d.tmp}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }
  for (uint8_t* b : free_buffers_) {
    std::free(b);
  }
  EVP_MD_free(md5_md_);
}

Status ObjectIo::Init() {
  if (options_.chunk_bytes == 0 || options_.chunk_bytes % 4096 != 0) {
    return Status::InvalidArgument("object chunk size must be a non-zero multiple of 4096");
  }
  if (options_.inline_threshold >= options_.chunk_bytes) {
    // An inline body must fit in the one chunk still being filled at Finish().
    return Status::InvalidArgument("inline threshold must be smaller than the chunk size");
  }
  if (options_.write_dir >= node_.data_dirs.size()) {
    return Status::InvalidArgument("write_dir is not a configured data dir");
  }
  options_.read_ahead_chunks = std::clamp<uint32_t>(options_.read_ahead_chunks, 2,
                                                    ObjectReader::kMaxSlots);
  dirs_.resize(node_.data_dirs.size());
  for (std::size_t i = 0; i < node_.data_dirs.size(); ++i) {
    const std::string& d = node_.data_dirs[i];
    MAMUTE_RETURN_IF_ERROR(OpenDirFd(d, /*create=*/false, &dirs_[i].root));
    MAMUTE_RETURN_IF_ERROR(OpenDirFd(d + "/objects", /*create=*/true, &dirs_[i].objects));
    MAMUTE_RETURN_IF_ERROR(OpenDirFd(d + "/tmp", /*create=*/true, &dirs_[i].tmp));
    if (::fsync(dirs_[i].root) != 0) {
      return Status::IoError(errno, "fsync " + d);
    }
  }
  md5_md_ = EVP_MD_fetch(nullptr, "MD5", nullptr);
  if (md5_md_ == nullptr) {
    return Status::Internal("OpenSSL has no MD5");
  }
  slots_.reserve(256);
  shard_.SetHandler(core::Op::kFile, &ObjectIo::OnCompletion, this);
  shard_.AddTimerList(&sweep_list_);
  shard_.AddStopHook(&ObjectIo::OnStop, &ObjectIo::IsDrained, this);
  return Status::Ok();
}

void ObjectIo::Track(io_uring_sqe* sqe, OpOwner* owner, uint8_t kind, uint32_t arg) noexcept {
  uint32_t idx;
  if (free_slot_ != UINT32_MAX) {
    idx = free_slot_;
    free_slot_ = slots_[idx].next_free;
  } else {
    idx = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  OpSlot& s = slots_[idx];
  s.owner = owner;
  s.kind = kind;
  s.arg = arg;
  s.injected = core::fault::Armed() ? MaybeInjectFault(sqe, owner, kind) : 0;
  ++slots_in_use_;
  io_uring_sqe_set_data64(sqe, core::Handle::Make(core::Op::kFile, idx, s.gen));
}

// Test builds (core/fault.h): an operation a rule fails is not performed; its SQE becomes a NOP
// and its completion reports -errno, exactly as a failing disk would answer it.
int ObjectIo::MaybeInjectFault(io_uring_sqe* sqe, OpOwner* owner, uint8_t kind) noexcept {
  using core::fault::FileOp;
  FileOp op;
  switch (kind) {
    case kWOpen:
    case kROpen:
      op = FileOp::kOpen;
      break;
    case kWDirOpen:
    case kWParentOpen:
      op = FileOp::kDirOpen;
      break;
    case kWWrite:
      op = FileOp::kWrite;
      break;
    case kWSync:
      op = FileOp::kSync;
      break;
    case kWDirSync:
      op = FileOp::kDirSync;
      break;
    case kWParentSync:
      op = FileOp::kParentSync;
      break;
    case kWRename:
      op = FileOp::kRename;
      break;
    case kWMkdir1:
    case kWMkdir2:
      op = FileOp::kMkdir;
      break;
    case kRRead:
      op = FileOp::kRead;
      break;
    case kWUnlink:
    case kUnlink:
      op = FileOp::kUnlink;
      break;
    default:
      return 0;  // close: failing it would only leak the fd
  }
  const int err = core::fault::Check(op, owner->FaultSubject());
  if (err != 0) {
    io_uring_prep_nop(sqe);
  }
  return err;
}

void ObjectIo::OnCompletion(void* ctx, io_uring_cqe* cqe) {
  auto* io = static_cast<ObjectIo*>(ctx);
  const uint32_t idx = core::Handle::SlotOf(cqe->user_data);
  const uint32_t gen = core::Handle::GenOf(cqe->user_data);
  if (idx >= io->slots_.size() || io->slots_[idx].owner == nullptr ||
      io->slots_[idx].gen != gen) {
    io->stats_.stale_completions.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  OpSlot& s = io->slots_[idx];
  OpOwner* owner = s.owner;
  const uint8_t kind = s.kind;
  const uint32_t arg = s.arg;
  const int res = s.injected != 0 ? -s.injected : cqe->res;
  s.injected = 0;
  s.owner = nullptr;
  s.gen = (s.gen + 1) & 0xffffff;
  s.next_free = io->free_slot_;
  io->free_slot_ = idx;
  --io->slots_in_use_;
  owner->OnOp(kind, arg, res);
}

uint8_t* ObjectIo::GetBuffer() noexcept {
  if (!free_buffers_.empty()) {
    uint8_t* b = free_buffers_.back();
    free_buffers_.pop_back();
    return b;
  }
  // 4 KiB aligned, so the buffers could later serve O_DIRECT as they are.
  return static_cast<uint8_t*>(std::aligned_alloc(4096, options_.chunk_bytes));
}

void ObjectIo::PutBuffer(uint8_t* buf) noexcept {
  if (buf != nullptr) {
    free_buffers_.push_back(buf);
  }
}

Result<ObjectWriter*> ObjectIo::BeginPut(BucketId bucket, std::string_view key) noexcept {
  Result<ObjectWriter*> w = NewWriter();
  if (w) {
    (*w)->Reset(bucket, key);
  }
  return w;
}

Result<ObjectWriter*> ObjectIo::BeginPart(BucketId bucket, std::string_view key,
                                          const UploadId& upload, uint32_t part_number) noexcept {
  Result<ObjectWriter*> w = NewWriter();
  if (w) {
    // Placement hashes the upload id with the part number as seed, so the parts of one upload
    // spread over the data dirs like objects do.
    (*w)->Reset(part_number, upload.view());
    (*w)->bucket_ = 0;
    (*w)->key_.clear();
    (*w)->part_mode_ = true;
    (*w)->upload_ = upload;
    (*w)->upload_key_ = UploadKey(bucket, key, upload);
    (*w)->part_number_ = part_number;
    (*w)->inline_limit_ = 0;  // only an empty part stays inline
  }
  return w;
}

Result<ObjectWriter*> ObjectIo::NewWriter() noexcept {
  if (stopping_) {
    return Err(Status::Cancelled("shard is stopping"));
  }
  ObjectWriter* w;
  if (!free_writers_.empty()) {
    w = free_writers_.back();
    free_writers_.pop_back();
  } else {
    writers_.push_back(std::make_unique<ObjectWriter>(this));
    w = writers_.back().get();
    if (w->md5_ == nullptr || w->xxh_ == nullptr) {
      writers_.pop_back();
      return Err(Status::ResourceExhausted("out of memory for an object writer"));
    }
  }
  if (EVP_DigestInit_ex2(w->md5_, md5_md_, nullptr) != 1) {
    free_writers_.push_back(w);
    return Err(Status::Internal("MD5 init failed"));
  }
  XXH3_128bits_reset(w->xxh_);
  return w;
}

void ObjectIo::ReleaseWriter(ObjectWriter* w) noexcept { free_writers_.push_back(w); }

Result<std::string_view> ObjectIo::ReadInline(const ObjectRecord& record, uint64_t offset,
                                              uint64_t length) noexcept {
  const DataLocation& loc = record.location;
  if (loc.kind != LocationKind::kInline || offset > record.size) {
    return Err(Status::InvalidArgument("not an inline object, or a range beyond it"));
  }
  if (loc.inline_data.size() != record.size) {
    stats_.get_failures.fetch_add(1, std::memory_order_relaxed);
    return Err(Status::Corruption("inline object size does not match its record"));
  }
  const uint64_t n = std::min<uint64_t>(length, record.size - offset);
  if (offset == 0 && n == record.size) {
    const XXH128_hash_t h = Xxh3Oneshot(loc.inline_data.data(), loc.inline_data.size());
    if (Hash128{h.low64, h.high64} != record.xxh3) {
      stats_.corruption.fetch_add(1, std::memory_order_relaxed);
      stats_.get_failures.fetch_add(1, std::memory_order_relaxed);
      MLOG_ERROR("object_io: XXH3-128 mismatch reading inline object (%llu bytes)",
                 static_cast<unsigned long long>(record.size));
      return Err(Status::Corruption("object data does not match its XXH3-128"));
    }
  }
  stats_.gets.fetch_add(1, std::memory_order_relaxed);
  stats_.bytes_read.fetch_add(n, std::memory_order_relaxed);
  return loc.inline_data.substr(offset, n);
}

Result<ObjectReader*> ObjectIo::BeginGet(const ObjectRecord& record, uint64_t offset,
                                         uint64_t length, ReadHandler handler,
                                         void* ctx) noexcept {
  if (stopping_) {
    return Err(Status::Cancelled("shard is stopping"));
  }
  if (offset > record.size) {
    return Err(Status::InvalidArgument("range starts beyond the object"));
  }
  const DataLocation& loc = record.location;
  if (loc.kind == LocationKind::kParts) {
    return Err(Status::InvalidArgument("a multipart object is read part by part"));
  }
  if (loc.kind == LocationKind::kFile && loc.data_dir >= dirs_.size()) {
    return Err(Status::Corruption("object record names an unknown data dir"));
  }
  if (loc.kind == LocationKind::kInline && loc.inline_data.size() != record.size) {
    return Err(Status::Corruption("inline object size does not match its record"));
  }
  ObjectReader* r;
  if (!free_readers_.empty()) {
    r = free_readers_.back();
    free_readers_.pop_back();
  } else {
    readers_.push_back(std::make_unique<ObjectReader>(this));
    r = readers_.back().get();
    if (r->xxh_ == nullptr) {
      readers_.pop_back();
      return Err(Status::ResourceExhausted("out of memory for an object reader"));
    }
  }
  r->active_ = true;
  r->begin_ = offset;
  r->end_ = length >= record.size - offset ? record.size : offset + length;
  r->full_ = offset == 0 && r->end_ == record.size;
  r->expect_ = record.xxh3;
  r->handler_ = handler;
  r->ctx_ = ctx;
  r->depth_ = options_.read_ahead_chunks;
  r->held_ = -1;
  r->next_read_ = r->next_deliver_ = offset;
  r->ops_in_flight_ = 0;
  r->cancelled_ = r->failed_ = r->done_called_ = r->step_pending_ = r->opening_ = false;
  r->status_ = Status::Ok();
  r->fd_ = -1;
  XXH3_128bits_reset(r->xxh_);
  if (loc.kind == LocationKind::kInline) {
    r->inline_ = true;
    r->inline_copy_.assign(loc.inline_data.substr(offset, r->end_ - offset));
    r->path_[0] = '\0';
    r->Schedule();
    return r;
  }
  r->inline_ = false;
  r->file_ = loc.file;
  r->dir_ = loc.data_dir;
  RelPath(loc.file, r->path_);
  if (r->begin_ == r->end_) {
    r->Schedule();  // nothing to read (an empty range, or an empty full read)
    return r;
  }
  r->opening_ = true;
  ReaderOpening(r->file_, +1);
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_openat(sqe, dirs_[r->dir_].root, r->path_, O_RDONLY | O_CLOEXEC, 0);
  Track(sqe, r, kROpen, 0);
  ++r->ops_in_flight_;
  return r;
}

void ObjectIo::ReleaseReader(ObjectReader* r) noexcept { free_readers_.push_back(r); }

// ---------------------------------------------------------------------------- delete

// Every metadata-only commit (DeleteObject, DeleteObjects, tag updates, multipart Create,
// Complete, Abort and expiry) is a MetaOp: a batch plus a commit-time hook that reads, in
// commit order, the records the batch replaces; their data files (every part's, for a
// multipart record) join the garbage once the batch is durable.

Result<MetaOp*> ObjectIo::NewMetaOp() noexcept {
  if (stopping_) {
    return Err(Status::Cancelled("shard is stopping"));
  }
  MetaOp* op;
  if (!free_meta_ops_.empty()) {
    op = free_meta_ops_.back();
    free_meta_ops_.pop_back();
  } else {
    meta_ops_.push_back(std::make_unique<MetaOp>(this, *node_.db));
    op = meta_ops_.back().get();
  }
  op->commit_.batch.Clear();
  op->mode_ = MetaOp::Mode::kBatch;
  op->nkeys_ = 0;
  op->tag_text_.clear();
  op->garbage_.clear();
  op->keep_.clear();
  op->replaced_files_.clear();
  op->existed_ = false;
  op->ends_upload_ = false;
  op->kept_parts_.clear();
  op->check_ = nullptr;
  op->check_ctx_ = nullptr;
  op->requires_bucket_ = false;
  op->bump_epoch_ = false;
  return op;
}

void MetaOp::end_upload(BucketId bucket, std::string_view key, const UploadId& id) {
  ends_upload_ = true;
  upload_bucket_ = bucket;
  upload_object_key_.assign(key);
  upload_id_ = id;
}

void MetaOp::add_replaced_key(std::string_view key) {
  if (replaced_keys_.size() <= nkeys_) {
    replaced_keys_.resize(nkeys_ + 1);
  }
  replaced_keys_[nkeys_++].assign(key);
}

void ObjectIo::Discard(MetaOp* op) noexcept { free_meta_ops_.push_back(op); }

Status ObjectIo::Submit(MetaOp* op, MetaOpCallback cb, void* ctx) noexcept {
  op->cb_ = cb;
  op->ctx_ = ctx;
  op->commit_.callback = &ObjectIo::MetaOpCommitted;
  // A batch that replaces no record needs no hook (and may then be written alone, as is).
  op->commit_.prepare = op->check_ != nullptr || op->requires_bucket_ ? &ObjectIo::CheckedPrepare
                        : op->mode_ == MetaOp::Mode::kTags        ? &ObjectIo::TagsPrepare
                        : op->nkeys_ > 0 || op->ends_upload_      ? &ObjectIo::MetaOpPrepare
                                                                  : nullptr;
  op->commit_.ctx = op;
  Status st = node_.commits->Enqueue(&op->commit_);
  if (!st.ok()) {
    free_meta_ops_.push_back(op);
    return st;
  }
  ++commits_outstanding_;
  return Status::Ok();
}

Status ObjectIo::Delete(BucketId bucket, std::string_view key, DeleteCallback cb,
                        void* ctx) noexcept {
  std::vector<std::string> one;
  one.emplace_back(key);
  return DeleteMany(bucket, one, cb, ctx);
}

Status ObjectIo::DeleteMany(BucketId bucket, const std::vector<std::string>& keys,
                            DeleteCallback cb, void* ctx) noexcept {
  Result<MetaOp*> op = NewMetaOp();
  if (!op) {
    return op.error();
  }
  (*op)->mode_ = MetaOp::Mode::kDelete;
  for (const std::string& key : keys) {
    (*op)->add_replaced_key(ObjectKey(bucket, key));
  }
  return Submit(*op, cb, ctx);
}

Status ObjectIo::SetTags(BucketId bucket, std::string_view key,
                         const std::vector<KeyValue>& tags, DeleteCallback cb,
                         void* ctx) noexcept {
  Result<MetaOp*> op = NewMetaOp();
  if (!op) {
    return op.error();
  }
  (*op)->mode_ = MetaOp::Mode::kTags;
  (*op)->add_replaced_key(ObjectKey(bucket, key));
  for (const KeyValue& kv : tags) {
    (*op)->tag_text_.emplace_back(kv.key);
    (*op)->tag_text_.emplace_back(kv.value);
  }
  return Submit(*op, cb, ctx);
}

// On the commit thread: the records the batch replaces, read in commit order (seeing earlier
// requests of the same group), name the data files that go on the garbage list — all of a
// multipart record's part files — except those the batch keeps. kDelete: the batch is the
// deletion of the replaced keys that exist.
Status ObjectIo::MetaOpPrepare(void* ctx, const CommitView& view, MetaBatch* batch) {
  auto* op = static_cast<MetaOp*>(ctx);
  op->existed_ = false;
  op->replaced_files_.clear();
  if (op->mode_ == MetaOp::Mode::kDelete) {
    batch->Clear();
  }
  if (op->ends_upload_) {
    Status st = RemoveUpload(view, op->upload_bucket_, op->upload_object_key_, op->upload_id_,
                             op->kept_parts_, batch, &op->replaced_files_);
    if (!st.ok()) {
      op->replaced_files_.clear();
      return st;
    }
  }
  for (std::size_t i = 0; i < op->nkeys_; ++i) {
    Status st = view.Get(Cf::kObjects, op->replaced_keys_[i], &op->old_value_);
    if (st.code() == Code::kNotFound) {
      continue;
    }
    MAMUTE_RETURN_IF_ERROR(st);
    op->existed_ = true;
    if (DecodeObject(op->old_value_, &op->old_rec_).ok()) {
      AppendDataFiles(op->old_rec_, &op->replaced_files_);  // one file, or every part's
    }
    if (op->mode_ == MetaOp::Mode::kDelete) {
      MAMUTE_RETURN_IF_ERROR(batch->Delete(Cf::kObjects, op->replaced_keys_[i]));
    }
  }
  for (const FileRef& k : op->keep_) {
    std::erase(op->replaced_files_, k);
  }
  return Status::Ok();
}

// On the commit thread: the object's current record with new tags (nothing if it is gone).
// Its data files stay.
Status ObjectIo::CheckedPrepare(void* ctx, const CommitView& view, MetaBatch* batch) {
  auto* op = static_cast<MetaOp*>(ctx);
  if (op->requires_bucket_) {
    MAMUTE_RETURN_IF_ERROR(CheckBucketLive(view, op->required_bucket_));
  }
  Status st = op->check_ != nullptr ? op->check_(op->check_ctx_, view, batch) : Status::Ok();
  if (!st.ok()) {
    return st;
  }
  if (op->mode_ == MetaOp::Mode::kTags) {
    return TagsPrepare(ctx, view, batch);
  }
  return op->nkeys_ > 0 || op->ends_upload_ ? MetaOpPrepare(ctx, view, batch) : Status::Ok();
}

Status ObjectIo::TagsPrepare(void* ctx, const CommitView& view, MetaBatch* batch) {
  auto* op = static_cast<MetaOp*>(ctx);
  op->existed_ = false;
  op->replaced_files_.clear();
  batch->Clear();
  Status st = view.Get(Cf::kObjects, op->replaced_keys_[0], &op->old_value_);
  if (st.code() == Code::kNotFound) {
    return Status::Ok();
  }
  MAMUTE_RETURN_IF_ERROR(st);
  MAMUTE_RETURN_IF_ERROR(DecodeObject(op->old_value_, &op->old_rec_));
  op->existed_ = true;
  op->old_rec_.tags.clear();
  for (std::size_t i = 0; i + 1 < op->tag_text_.size(); i += 2) {
    op->old_rec_.tags.push_back(KeyValue{op->tag_text_[i], op->tag_text_[i + 1]});
  }
  op->new_value_.clear();
  EncodeObject(op->old_rec_, &op->new_value_);
  return batch->Put(Cf::kObjects, op->replaced_keys_[0], op->new_value_);
}

void ObjectIo::MetaOpCommitted(void* ctx, Status st) {
  auto* op = static_cast<MetaOp*>(ctx);
  if (st.ok() && op->bump_epoch_) {
    op->io_->node_.bucket_config_epoch.fetch_add(1, std::memory_order_release);
  }
  op->status_ = std::move(st);
  op->msg_.fn = &ObjectIo::OnMetaOpMsg;
  op->msg_.op = op;
  op->io_->shard_.Post(&op->msg_);
}

void ObjectIo::OnMetaOpMsg(core::Shard& /*shard*/, core::Message* m) {
  MetaOp* op = static_cast<MetaOp::Msg*>(m)->op;
  ObjectIo* io = op->io_;
  --io->commits_outstanding_;
  if (op->status_.ok()) {
    for (const FileRef& f : op->garbage_) {
      io->AddGarbage(f.dir, f.file);
    }
    for (const FileRef& f : op->replaced_files_) {
      io->AddGarbage(f.dir, f.file);
    }
    if (op->existed_ && op->mode_ == MetaOp::Mode::kDelete) {
      io->stats_.deletes.fetch_add(1, std::memory_order_relaxed);
    }
  }
  const MetaOpCallback cb = op->cb_;
  void* const ctx = op->ctx_;
  const bool existed = op->existed_;
  Status st = std::move(op->status_);
  io->free_meta_ops_.push_back(op);
  cb(ctx, std::move(st), existed);
}

// ---------------------------------------------------------------------------- garbage

void ObjectIo::AddGarbage(uint32_t dir, const FileId& file) noexcept {
  if (dir >= dirs_.size()) {
    return;
  }
  if (stopping_ || (options_.unlink_grace_ms == 0 && !HasOpeningReader(file))) {
    UnlinkNow(dir, file);
    return;
  }
  garbage_.push_back(Garbage{shard_.now_ms() + options_.unlink_grace_ms, dir, file});
  ArmSweep();
}

void ObjectIo::ArmSweep() noexcept {
  if (!sweep_timer_.armed && !garbage_.empty()) {
    sweep_list_.Arm(&sweep_timer_, shard_.now_ms());
  }
}

void ObjectIo::OnSweep(core::Timer* t) {
  ObjectIo* io = static_cast<SweepTimer*>(t)->io;
  io->Sweep(/*force=*/false);
  io->ArmSweep();
}

void ObjectIo::Sweep(bool force) noexcept {
  // One grace for all: the deque is in deadline order.
  while (!garbage_.empty()) {
    const Garbage g = garbage_.front();
    if (!force && (g.due_ms > shard_.now_ms() || HasOpeningReader(g.file))) {
      break;
    }
    garbage_.pop_front();
    UnlinkNow(g.dir, g.file);
  }
}

void ObjectIo::FlushGarbage() noexcept { Sweep(/*force=*/true); }

void ObjectIo::UnlinkNow(uint32_t dir, const FileId& file) noexcept {
  UnlinkOp* op;
  if (!free_unlinks_.empty()) {
    op = free_unlinks_.back();
    free_unlinks_.pop_back();
  } else {
    unlinks_.push_back(std::make_unique<UnlinkOp>(this));
    op = unlinks_.back().get();
  }
  RelPath(file, op->path_);
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_unlinkat(sqe, dirs_[dir].root, op->path_, 0);
  Track(sqe, op, kUnlink, 0);
  ++unlinks_in_flight_;
}

void ObjectIo::UnlinkOp::OnOp(uint8_t /*kind*/, uint32_t /*arg*/, int res) noexcept {
  --io_->unlinks_in_flight_;
  if (res == 0) {
    io_->stats_.files_unlinked.fetch_add(1, std::memory_order_relaxed);
  } else if (res != -ENOENT) {
    MLOG_WARN("object_io: unlink of replaced data file %s: errno %d", path_, -res);
  }
  io_->free_unlinks_.push_back(this);
}

void ObjectIo::ReaderOpening(const FileId& file, int delta) noexcept {
  for (std::size_t i = 0; i < opening_.size(); ++i) {
    if (opening_[i].first == file) {
      opening_[i].second += static_cast<uint32_t>(delta);
      if (opening_[i].second == 0) {
        opening_[i] = opening_.back();
        opening_.pop_back();
      }
      return;
    }
  }
  if (delta > 0) {
    opening_.emplace_back(file, 1);
  }
}

bool ObjectIo::HasOpeningReader(const FileId& file) const noexcept {
  for (const auto& [id, n] : opening_) {
    if (id == file) {
      return true;
    }
  }
  return false;
}

void ObjectIo::OnStop(void* self) {
  auto* io = static_cast<ObjectIo*>(self);
  io->stopping_ = true;
  io->FlushGarbage();
}

bool ObjectIo::IsDrained(void* self) { return static_cast<ObjectIo*>(self)->Drained(); }

}  // namespace mamute::store
