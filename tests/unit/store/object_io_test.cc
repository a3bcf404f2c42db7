#include "store/object_io.h"
#include "store/xxh3.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/fault.h"
#include "shard_fixture.h"
#include "store/bucket_purge.h"
#include "store/data_dirs.h"
#include "store/dirs.h"
#include "store/fsck.h"
#include "store/keys.h"
#include "store/records.h"
#include "util/encoding.h"

namespace mamute::store {
namespace {

namespace fs = std::filesystem;
using testing::Latch;

constexpr BucketId kBucket = 7;

std::string RandomBytes(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) {
    c = static_cast<char>(rng());
  }
  return s;
}

std::string Md5Hex(std::string_view data) {
  unsigned char md[16];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr), 1);
  return util::HexEncode(md, 16);
}

// Regular files under `dir` (recursively); empty when it does not exist.
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    return out;
  }
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file()) {
      out.push_back(it->path().string());
    }
  }
  return out;
}

// A PUT driven on the shard: appends `data` in pieces of the given sizes (cycled), honouring
// backpressure, then finishes.
struct PutJob {
  ObjectIo* io = nullptr;
  std::string key;
  std::string data;
  std::vector<std::size_t> pieces{65536};
  const uint8_t* expected_md5 = nullptr;
  bool abort_at_end = false;  // Abort() instead of Finish()
  std::optional<PutCondition> cond;  // conditional PUT
  std::vector<KeyValue> tags;
  UploadId upload;            // with part != 0: a multipart part writer
  uint32_t part = 0;
  uint64_t declared = UINT64_MAX;  // ObjectWriter::ExpectSize, unless UINT64_MAX

  ObjectWriter* w = nullptr;
  std::size_t off = 0;
  std::size_t piece = 0;
  int waits = 0;  // times the window was full (backpressure)
  Status status;
  PutResult result;
  Latch done;

  void Start() {  // on the shard
    auto r = part != 0 ? io->BeginPart(kBucket, key, upload, part) : io->BeginPut(kBucket, key);
    if (!r) {
      status = r.error();
      done.Set();
      return;
    }
    w = *r;
    if (declared != UINT64_MAX) {
      w->ExpectSize(declared);
    }
    Pump();
  }
  void Pump() {
    while (off < data.size()) {
      const std::size_t n = std::min(pieces[piece % pieces.size()], data.size() - off);
      auto taken = w->Append(std::string_view(data).substr(off, n), &PutJob::OnReady, this);
      if (!taken) {
        status = taken.error();
        w->Abort();
        done.Set();
        return;
      }
      off += *taken;
      if (*taken < n) {
        ++waits;
        return;  // window full: OnReady continues
      }
      ++piece;
    }
    if (abort_at_end) {
      w->Abort();
      status = Status::Cancelled("aborted by the test");
      done.Set();
      return;
    }
    ObjectRecord meta;
    meta.headers.content_type = "application/octet-stream";
    meta.tags = tags;
    if (cond) {
      w->SetCondition(*cond);
    }
    w->Finish(meta, expected_md5, &PutJob::OnDone, this);
  }
  static void OnReady(void* ctx, Status st) {
    auto* j = static_cast<PutJob*>(ctx);
    if (!st.ok()) {
      j->status = std::move(st);
      j->w->Abort();
      j->done.Set();
      return;
    }
    j->Pump();
  }
  static void OnDone(void* ctx, Status st, const PutResult& r) {
    auto* j = static_cast<PutJob*>(ctx);
    j->status = std::move(st);
    j->result = r;
    j->done.Set();
  }
};

// A GET driven on the shard; with hold_first it keeps the first piece until Resume().
struct GetJob {
  bool hold_first = false;
  std::string out;
  int pieces = 0;
  ObjectReader* held = nullptr;
  Status status;
  Latch first;
  Latch done;

  static void OnData(void* ctx, ObjectReader* r, std::string_view d) {
    auto* j = static_cast<GetJob*>(ctx);
    EXPECT_FALSE(d.empty());
    j->out.append(d);
    if (j->pieces++ == 0 && j->hold_first) {
      j->held = r;
      j->first.Set();
      return;
    }
    r->More();
  }
  static void OnDone(void* ctx, Status st) {
    auto* j = static_cast<GetJob*>(ctx);
    j->status = std::move(st);
    j->done.Set();
  }
};

struct DeleteJob {
  Status status;
  bool existed = false;
  Latch done;
  static void OnDone(void* ctx, Status st, bool existed) {
    auto* j = static_cast<DeleteJob*>(ctx);
    j->status = std::move(st);
    j->existed = existed;
    j->done.Set();
  }
};

class ObjectIoTest : public testing::ShardFixture {
 protected:
  Status Put(const std::string& key, const std::string& data, PutResult* result = nullptr,
             std::vector<std::size_t> pieces = {65536}, int* waits = nullptr,
             uint64_t declared = UINT64_MAX) {
    PutJob job;
    job.io = io_.get();
    job.declared = declared;
    job.key = key;
    job.data = data;
    job.pieces = std::move(pieces);
    RunOnShard([&] { job.Start(); });
    EXPECT_TRUE(job.done.Wait());
    if (result != nullptr) {
      *result = job.result;
    }
    if (waits != nullptr) {
      *waits = job.waits;
    }
    return job.status;
  }

  // Part `n` of multipart upload `up` through the part writer.
  Status PutPart(const UploadId& up, uint32_t n, const std::string& data, PutResult* r) {
    PutJob job;
    job.io = io_.get();
    job.data = data;
    job.upload = up;
    job.part = n;
    RunOnShard([&] { job.Start(); });
    EXPECT_TRUE(job.done.Wait());
    *r = job.result;
    return job.status;
  }

  // Reads the record from RocksDB (test thread), then streams it on the shard.
  Status Get(const std::string& key, std::string* out, uint64_t offset = 0,
             uint64_t length = UINT64_MAX) {
    std::string value;
    Status st = node_->db->Get(Cf::kObjects, ObjectKey(kBucket, key), &value);
    if (!st.ok()) {
      return st;
    }
    ObjectRecord rec;
    st = DecodeObject(value, &rec);
    if (!st.ok()) {
      return st;
    }
    GetJob job;
    Status begin;
    RunOnShard([&] {
      auto r = io_->BeginGet(rec, offset, length, ReadHandler{&GetJob::OnData, &GetJob::OnDone},
                             &job);
      if (!r) {
        begin = r.error();
        job.done.Set();
      }
    });
    EXPECT_TRUE(job.done.Wait());
    if (!begin.ok()) {
      return begin;
    }
    *out = std::move(job.out);
    return job.status;
  }

  Status Delete(const std::string& key, bool* existed) {
    DeleteJob job;
    Status begin;
    RunOnShard([&] {
      begin = io_->Delete(kBucket, key, &DeleteJob::OnDone, &job);
      if (!begin.ok()) {
        job.done.Set();
      }
    });
    EXPECT_TRUE(job.done.Wait());
    if (!begin.ok()) {
      return begin;
    }
    *existed = job.existed;
    return job.status;
  }

  Result<ObjectRecord> Record(const std::string& key, std::string* value) {
    Status st = node_->db->Get(Cf::kObjects, ObjectKey(kBucket, key), value);
    if (!st.ok()) {
      return Err(st);
    }
    ObjectRecord rec;
    st = DecodeObject(*value, &rec);
    if (!st.ok()) {
      return Err(st);
    }
    return rec;
  }

  std::string DataPath(const PutResult& r, std::size_t dir = 0) const {
    return data_dirs_[dir] + "/" + DataFileRelPath(r.file);
  }
  std::string TmpDir(std::size_t dir = 0) const { return data_dirs_[dir] + "/tmp"; }
  std::string ObjectsDir(std::size_t dir = 0) const { return data_dirs_[dir] + "/objects"; }
};

TEST_F(ObjectIoTest, SmallObjectIsInline) {
  PutResult r;
  ASSERT_TRUE(Put("small", "hello", &r).ok());
  EXPECT_EQ(r.location, LocationKind::kInline);
  EXPECT_EQ(r.size, 5u);
  EXPECT_EQ(r.EtagHex(), "5d41402abc4b2a76b9719d911017c592");
  EXPECT_TRUE(FilesUnder(ObjectsDir()).empty());
  EXPECT_TRUE(FilesUnder(TmpDir()).empty());

  std::string value;
  auto rec = Record("small", &value);
  ASSERT_TRUE(rec.has_value()) << rec.error().ToString();
  EXPECT_EQ(rec->location.kind, LocationKind::kInline);
  EXPECT_EQ(rec->location.inline_data, "hello");
  EXPECT_EQ(rec->headers.content_type, "application/octet-stream");
  EXPECT_EQ(rec->xxh3, r.xxh3);

  std::string got;
  ASSERT_TRUE(Get("small", &got).ok());
  EXPECT_EQ(got, "hello");
  EXPECT_EQ(io_->stats().puts_inline.load(), 1u);
}

TEST_F(ObjectIoTest, EmptyAndThresholdSizedObjects) {
  const std::size_t t = options_.inline_threshold;
  const struct {
    std::size_t size;
    LocationKind where;
  } cases[] = {{0, LocationKind::kInline},
               {1, LocationKind::kInline},
               {t, LocationKind::kInline},
               {t + 1, LocationKind::kFile},
               {options_.chunk_bytes, LocationKind::kFile},
               {options_.chunk_bytes + 1, LocationKind::kFile}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.size);
    const std::string data = RandomBytes(c.size, static_cast<uint32_t>(c.size));
    PutResult r;
    ASSERT_TRUE(Put("k" + std::to_string(c.size), data, &r).ok());
    EXPECT_EQ(r.location, c.where);
    EXPECT_EQ(r.EtagHex(), Md5Hex(data));
    std::string got;
    ASSERT_TRUE(Get("k" + std::to_string(c.size), &got).ok());
    EXPECT_EQ(got, data);
  }
}

// The data path hashes through libxxhash's dispatched (AVX2/AVX-512) entry points; records
// written before, and the plain SSE2 build, must agree with them on every size and split.
TEST(Xxh3Dispatch, SameHashesAsThePlainBuild) {
  const std::string data = RandomBytes((1u << 20) + 333, 7);
  for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 127u, 128u, 129u, 240u, 241u, 1023u, 1024u, 4096u,
                        65537u, (1u << 20) + 333u}) {
    const XXH128_hash_t plain = XXH3_128bits(data.data(), n);
    const XXH128_hash_t one = Xxh3Oneshot(data.data(), n);
    EXPECT_TRUE(XXH128_isEqual(plain, one)) << n;
    XXH3_state_t* st = XXH3_createState();
    ASSERT_NE(st, nullptr);
    XXH3_128bits_reset(st);
    for (std::size_t off = 0, step = 1; off < n; off += step, step = step * 3 + 1) {
      Xxh3Update(st, data.data() + off, std::min(step, n - off));
    }
    EXPECT_TRUE(XXH128_isEqual(plain, XXH3_128bits_digest(st))) << n;
    XXH3_freeState(st);
  }
}

TEST_F(ObjectIoTest, LargeObjectOddAppendsByteExact) {
  const std::string data = RandomBytes((5u << 20) + 123, 42);
  PutResult r;
  int waits = 0;
  ASSERT_TRUE(Put("big", data, &r, {1, 7, 4093, 65537, 131071, 333333, 1u << 20}, &waits).ok());
  EXPECT_GT(waits, 0);  // 1 MiB pieces against a 1 MiB window: Append pushed back
  EXPECT_EQ(r.location, LocationKind::kFile);
  EXPECT_EQ(r.size, data.size());
  EXPECT_EQ(r.EtagHex(), Md5Hex(data));
  const XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  EXPECT_EQ(r.xxh3, (Hash128{h.low64, h.high64}));
  EXPECT_EQ(fs::file_size(DataPath(r)), data.size());
  EXPECT_TRUE(FilesUnder(TmpDir()).empty());

  std::string got;
  ASSERT_TRUE(Get("big", &got).ok());
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
  EXPECT_EQ(io_->stats().gets.load(), 1u);
  EXPECT_EQ(io_->stats().bytes_read.load(), data.size());
}

TEST_F(ObjectIoTest, RangeReads) {
  const std::string big = RandomBytes((1u << 20) + 5, 1);
  const std::string small = RandomBytes(1000, 2);
  ASSERT_TRUE(Put("big", big).ok());
  ASSERT_TRUE(Put("small", small).ok());
  const uint64_t chunk = options_.chunk_bytes;
  const struct {
    const char* key;
    uint64_t offset;
    uint64_t length;
  } cases[] = {
      {"big", 0, 1},           {"big", 0, big.size()},          {"big", big.size() - 1, 1},
      {"big", 100, 300000},    {"big", chunk - 1, 2},           {"big", chunk, chunk},
      {"big", big.size(), 0},  {"big", big.size(), 10},         {"big", 10, UINT64_MAX},
      {"big", 5, big.size()},  {"small", 0, 1},                 {"small", 999, 1},
      {"small", 10, 20},       {"small", 1000, 5},              {"small", 1, UINT64_MAX},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.key) + " @" + std::to_string(c.offset) + "+" +
                 std::to_string(c.length));
    const std::string& src = std::string_view(c.key) == "big" ? big : small;
    const std::string want = src.substr(c.offset, std::min<uint64_t>(c.length, src.size()));
    std::string got;
    ASSERT_TRUE(Get(c.key, &got, c.offset, c.length).ok());
    EXPECT_TRUE(got == want) << got.size() << " vs " << want.size();
  }
  std::string got;
  EXPECT_EQ(Get("big", &got, big.size() + 1, 1).code(), Code::kInvalidArgument);
}

TEST_F(ObjectIoTest, OverwriteWhileReadingKeepsOldVersion) {
  const std::string old_data = RandomBytes(2u << 20, 3);
  const std::string new_data = RandomBytes(3u << 20, 4);
  PutResult old_r;
  ASSERT_TRUE(Put("k", old_data, &old_r).ok());

  std::string value;
  auto rec = Record("k", &value);
  ASSERT_TRUE(rec.has_value());
  GetJob job;
  job.hold_first = true;
  RunOnShard([&] {
    auto r = io_->BeginGet(*rec, 0, UINT64_MAX, ReadHandler{&GetJob::OnData, &GetJob::OnDone},
                           &job);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
  });
  ASSERT_TRUE(job.first.Wait());

  PutResult new_r;
  ASSERT_TRUE(Put("k", new_data, &new_r).ok());
  EXPECT_NE(new_r.file, old_r.file);
  // Grace 0: the old file goes right after the commit; the reader keeps its open inode.
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(DataPath(old_r)); }));

  RunOnShard([&] { job.held->More(); });
  ASSERT_TRUE(job.done.Wait());
  ASSERT_TRUE(job.status.ok()) << job.status.ToString();
  EXPECT_TRUE(job.out == old_data);
  EXPECT_GT(job.pieces, 1);

  std::string got;
  ASSERT_TRUE(Get("k", &got).ok());
  EXPECT_TRUE(got == new_data);
  EXPECT_EQ(io_->stats().files_unlinked.load(), 1u);

  // A reader holding the stale record (looked up before the overwrite) gets NotFound: retry.
  GetJob stale;
  std::string stale_value;
  ObjectRecord stale_rec = *rec;
  RunOnShard([&] {
    auto r = io_->BeginGet(stale_rec, 0, UINT64_MAX,
                           ReadHandler{&GetJob::OnData, &GetJob::OnDone}, &stale);
    ASSERT_TRUE(r.has_value());
  });
  ASSERT_TRUE(stale.done.Wait());
  EXPECT_EQ(stale.status.code(), Code::kNotFound);
}

TEST_F(ObjectIoTest, OverwriteDefersUnlinkByGracePeriod) {
  ObjectIoOptions o = options_;
  o.unlink_grace_ms = 400;
  Restart(o);
  PutResult a;
  ASSERT_TRUE(Put("k", RandomBytes(100000, 5), &a).ok());
  ASSERT_TRUE(Put("k", RandomBytes(100000, 6)).ok());
  EXPECT_TRUE(fs::exists(DataPath(a)));  // still inside the grace period
  std::size_t pending = 0;
  RunOnShard([&] { pending = io_->garbage_pending(); });
  EXPECT_EQ(pending, 1u);
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(DataPath(a)); }));
  // Inline → file → inline: only file versions leave garbage.
  ASSERT_TRUE(Put("k", "tiny").ok());
  EXPECT_TRUE(WaitDrained());
  EXPECT_TRUE(FilesUnder(ObjectsDir()).empty());
}

TEST_F(ObjectIoTest, Delete) {
  PutResult r;
  ASSERT_TRUE(Put("file", RandomBytes(300000, 7), &r).ok());
  ASSERT_TRUE(Put("inline", "abc").ok());
  bool existed = false;
  ASSERT_TRUE(Delete("file", &existed).ok());
  EXPECT_TRUE(existed);
  std::string value;
  EXPECT_EQ(Record("file", &value).error().code(), Code::kNotFound);
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(DataPath(r)); }));
  ASSERT_TRUE(Delete("file", &existed).ok());
  EXPECT_FALSE(existed);
  ASSERT_TRUE(Delete("inline", &existed).ok());
  EXPECT_TRUE(existed);
  EXPECT_EQ(Record("inline", &value).error().code(), Code::kNotFound);
  EXPECT_EQ(io_->stats().deletes.load(), 2u);
}

// Part writer: every non-empty part gets a file and a PartRecord (no object record); the same
// number again replaces the part and retires its file; a MetaOp commits a multipart object that
// names a part file, and an overwrite of that object retires the part file.
TEST_F(ObjectIoTest, PartWriterAndMetaOp) {
  const UploadId up = UploadId::Make(1, 2);
  auto put_part = [&](uint32_t n, const std::string& data, PutResult* r) { return PutPart(up, n, data, r); };
  auto part_record = [&](uint32_t n, std::string* v, PartRecord* pr) {
    Status st = node_->db->Get(Cf::kParts, PartKey(up, n), v);
    return st.ok() ? DecodePart(*v, pr) : st;
  };
  std::string v;
  PartRecord pr;
  const std::string small = RandomBytes(100, 1);
  PutResult a, b, e;
  // No upload record: the commit-time hook refuses the part, and its file goes.
  EXPECT_EQ(put_part(1, small, &a).code(), Code::kNotFound);
  EXPECT_EQ(part_record(1, &v, &pr).code(), Code::kNotFound);
  EXPECT_TRUE(WaitDrained());
  EXPECT_TRUE(FilesUnder(ObjectsDir()).empty() && FilesUnder(TmpDir()).empty());
  UploadRecord upload_rec;
  std::string upload_value;
  EncodeUpload(upload_rec, &upload_value);
  ASSERT_TRUE(node_->db->Put(Cf::kUploads, UploadKey(kBucket, "", up), upload_value).ok());
  ASSERT_TRUE(put_part(1, small, &a).ok());
  EXPECT_EQ(a.location, LocationKind::kFile);  // a small part is a file too: objects name it
  EXPECT_TRUE(fs::exists(DataPath(a)));
  ASSERT_TRUE(part_record(1, &v, &pr).ok());
  EXPECT_EQ(pr.size, 100u);
  EXPECT_EQ(pr.location.file, a.file);
  EXPECT_EQ(util::HexEncode(pr.etag_md5.data(), pr.etag_md5.size()), Md5Hex(small));
  EXPECT_EQ(pr.xxh3, a.xxh3);

  const std::string big = RandomBytes(300000, 2);
  ASSERT_TRUE(put_part(1, big, &b).ok());
  ASSERT_TRUE(part_record(1, &v, &pr).ok());
  EXPECT_EQ(pr.location.file, b.file);
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(DataPath(a)); }));  // the replaced part
  EXPECT_TRUE(fs::exists(DataPath(b)));
  ASSERT_TRUE(put_part(2, "", &e).ok());
  EXPECT_EQ(e.location, LocationKind::kInline);  // only an empty part stays inline

  ObjectRecord rec;
  rec.etag_kind = EtagKind::kMultipart;
  rec.etag = "0123456789abcdef0123456789abcdef-1";
  rec.size = big.size();
  rec.location.kind = LocationKind::kParts;
  rec.parts = {{big.size(), b.xxh3, {LocationKind::kFile, {}, b.file, 0}}};
  std::string enc;
  EncodeObject(rec, &enc);
  DeleteJob job;
  Status begin;
  RunOnShard([&] {
    auto op = io_->NewMetaOp();
    ASSERT_TRUE(op.has_value());
    ASSERT_TRUE((*op)->batch().Put(Cf::kObjects, ObjectKey(kBucket, "mpu"), enc).ok());
    ASSERT_TRUE((*op)->batch().Delete(Cf::kParts, PartKey(up, 1)).ok());
    (*op)->add_replaced_key(ObjectKey(kBucket, "mpu"));
    begin = io_->Submit(*op, &DeleteJob::OnDone, &job);
    if (!begin.ok()) {
      job.done.Set();
    }
  });
  ASSERT_TRUE(job.done.Wait());
  ASSERT_TRUE(begin.ok() && job.status.ok());
  EXPECT_FALSE(job.existed);
  EXPECT_EQ(part_record(1, &v, &pr).code(), Code::kNotFound);
  EXPECT_TRUE(WaitDrained());
  EXPECT_TRUE(fs::exists(DataPath(b)));  // now the object's data
  ASSERT_TRUE(Put("mpu", "tiny").ok());  // an overwrite retires every part file
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(DataPath(b)); }));

  // Tags rewrite a multipart record in place; DeleteMany retires all of its part files.
  PutResult p3, p4;
  ASSERT_TRUE(put_part(3, RandomBytes(5000, 3), &p3).ok());
  ASSERT_TRUE(put_part(4, RandomBytes(7000, 4), &p4).ok());
  rec.size = 12000;
  rec.parts = {{5000, p3.xxh3, {LocationKind::kFile, {}, p3.file, 0}},
               {7000, p4.xxh3, {LocationKind::kFile, {}, p4.file, 0}}};
  enc.clear();
  EncodeObject(rec, &enc);
  ASSERT_TRUE(node_->db->Put(Cf::kObjects, ObjectKey(kBucket, "mpu2"), enc).ok());
  DeleteJob tags_job;
  RunOnShard([&] {
    begin = io_->SetTags(kBucket, "mpu2", {KeyValue{"t", "1"}}, &DeleteJob::OnDone, &tags_job);
    if (!begin.ok()) {
      tags_job.done.Set();
    }
  });
  ASSERT_TRUE(tags_job.done.Wait());
  ASSERT_TRUE(begin.ok() && tags_job.status.ok() && tags_job.existed);
  EXPECT_TRUE(WaitDrained());
  EXPECT_TRUE(fs::exists(DataPath(p3)) && fs::exists(DataPath(p4)));  // tags leave the data
  DeleteJob del;
  RunOnShard([&] {
    begin = io_->DeleteMany(kBucket, {"mpu2", "absent"}, &DeleteJob::OnDone, &del);
    if (!begin.ok()) {
      del.done.Set();
    }
  });
  ASSERT_TRUE(del.done.Wait());
  ASSERT_TRUE(begin.ok() && del.status.ok() && del.existed);
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(DataPath(p3)) && !fs::exists(DataPath(p4)); }));
}

TEST_F(ObjectIoTest, CorruptionDetectedOnFullRead) {
  const std::string data = RandomBytes(1u << 20, 8);
  PutResult r;
  ASSERT_TRUE(Put("k", data, &r).ok());
  {
    const int fd = ::open(DataPath(r).c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const char flipped = static_cast<char>(data[500000] ^ 0x01);
    ASSERT_EQ(::pwrite(fd, &flipped, 1, 500000), 1);
    ::close(fd);
  }
  std::string got;
  EXPECT_EQ(Get("k", &got).code(), Code::kCorruption);
  EXPECT_EQ(io_->stats().corruption.load(), 1u);
  // Range reads are not verified (there is no per-range hash).
  ASSERT_TRUE(Get("k", &got, 0, 1000).ok());
  EXPECT_TRUE(got == data.substr(0, 1000));

  // A truncated file is corruption too.
  fs::resize_file(DataPath(r), data.size() / 2);
  EXPECT_EQ(Get("k", &got).code(), Code::kCorruption);
  EXPECT_EQ(io_->stats().corruption.load(), 2u);
  EXPECT_EQ(io_->stats().get_failures.load(), 2u);
}

TEST_F(ObjectIoTest, AbortLeavesNothing) {
  const struct {
    std::size_t size;
  } cases[] = {{100}, {600000}, {3u << 20}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.size);
    PutJob job;
    job.io = io_.get();
    job.key = "aborted";
    job.data = RandomBytes(c.size, 9);
    job.abort_at_end = true;
    RunOnShard([&] { job.Start(); });
    ASSERT_TRUE(job.done.Wait());
    EXPECT_TRUE(WaitDrained());
    EXPECT_TRUE(FilesUnder(TmpDir()).empty());
    EXPECT_TRUE(FilesUnder(ObjectsDir()).empty());
    std::string value;
    EXPECT_EQ(Record("aborted", &value).error().code(), Code::kNotFound);
  }
  EXPECT_EQ(io_->stats().aborts.load(), 3u);
  EXPECT_EQ(io_->stats().puts.load(), 0u);
}

TEST_F(ObjectIoTest, ContentMd5MismatchCommitsNothing) {
  const uint8_t wrong[16] = {1, 2, 3};
  for (std::size_t size : {std::size_t{10}, std::size_t{500000}}) {
    PutJob job;
    job.io = io_.get();
    job.key = "bad";
    job.data = RandomBytes(size, 10);
    job.expected_md5 = wrong;
    RunOnShard([&] { job.Start(); });
    ASSERT_TRUE(job.done.Wait());
    EXPECT_EQ(job.status.code(), Code::kInvalidArgument);
    EXPECT_TRUE(WaitDrained());
    EXPECT_TRUE(FilesUnder(TmpDir()).empty());
    EXPECT_TRUE(FilesUnder(ObjectsDir()).empty());
  }
  std::string value;
  EXPECT_EQ(Record("bad", &value).error().code(), Code::kNotFound);
}

// The commit checks, in commit order, that the bucket still exists: a PUT that began before its
// bucket's deletion (the bucket record gone, as after DeleteBucket) is refused with
// NotFound("NoSuchBucket") and leaves no record and no file — nothing a purge would miss.
TEST_F(ObjectIoTest, PutIntoADeletedBucketCommitsNothing) {
  ASSERT_TRUE(node_->db->Delete(Cf::kBuckets, BucketKey(kBucket)).ok());
  for (std::size_t size : {std::size_t{10}, std::size_t{500000}}) {
    PutJob job;
    job.io = io_.get();
    job.key = "late";
    job.data = RandomBytes(size, 11);
    RunOnShard([&] { job.Start(); });
    ASSERT_TRUE(job.done.Wait());
    EXPECT_EQ(job.status.code(), Code::kNotFound) << job.status.ToString();
    EXPECT_EQ(job.status.message(), "NoSuchBucket");
    EXPECT_TRUE(WaitDrained());
    EXPECT_TRUE(FilesUnder(TmpDir()).empty());
    EXPECT_TRUE(FilesUnder(ObjectsDir()).empty());
  }
  std::string value;
  EXPECT_EQ(Record("late", &value).error().code(), Code::kNotFound);
  ASSERT_TRUE(testing::AddTestBuckets(*node_->db).ok());
  ASSERT_TRUE(Put("late", "now").ok());  // the bucket is back: the same PUT commits
}

TEST_F(ObjectIoTest, ConcurrentPutsShareSyncs) {
  constexpr int kN = 64;
  const CommitQueueStats before = node_->commits->stats();
  std::deque<PutJob> jobs;
  for (int i = 0; i < kN; ++i) {
    PutJob& j = jobs.emplace_back();
    j.io = io_.get();
    j.key = "c/" + std::to_string(i);
    j.data = RandomBytes(i % 2 == 0 ? 1000 + i : 100000 + i, 100 + i);
  }
  RunOnShard([&] {
    for (PutJob& j : jobs) {
      j.Start();
    }
  });
  for (PutJob& j : jobs) {
    ASSERT_TRUE(j.done.Wait());
    ASSERT_TRUE(j.status.ok()) << j.status.ToString();
  }
  // The queue counts a group's requests after running their callbacks: wait for it.
  EXPECT_TRUE(WaitFor(
      [&] { return node_->commits->stats().requests - before.requests == uint64_t{kN}; }));
  const CommitQueueStats after = node_->commits->stats();
  EXPECT_LT(after.syncs - before.syncs, static_cast<uint64_t>(kN));
  for (PutJob& j : jobs) {
    std::string got;
    ASSERT_TRUE(Get(j.key, &got).ok());
    EXPECT_TRUE(got == j.data) << j.key;
  }
  EXPECT_EQ(io_->stats().puts.load(), static_cast<uint64_t>(kN));
}

TEST_F(ObjectIoTest, ReopenReadsBackAcknowledgedWrites) {
  std::vector<std::pair<std::string, std::string>> objects = {
      {"a", "inline bytes"}, {"b", RandomBytes(700000, 11)}, {"c/d", RandomBytes(20000, 12)}};
  for (const auto& [k, v] : objects) {
    ASSERT_TRUE(Put(k, v).ok());
  }
  Restart(options_);
  for (const auto& [k, v] : objects) {
    std::string got;
    ASSERT_TRUE(Get(k, &got).ok()) << k;
    EXPECT_TRUE(got == v) << k;
  }
}

TEST_F(ObjectIoTest, FsckCleanAfterNormalRunFindsLeftoverTemp) {
  ASSERT_TRUE(Put("x", RandomBytes(400000, 13)).ok());
  ASSERT_TRUE(Put("x", RandomBytes(500000, 14)).ok());  // overwrite: old file unlinked
  ASSERT_TRUE(Put("y", "small").ok());
  ASSERT_TRUE(Put("z", RandomBytes(300000, 15)).ok());
  bool existed = false;
  ASSERT_TRUE(Delete("z", &existed).ok());
  ASSERT_TRUE(WaitDrained());

  FsckOptions fo;
  fo.data_dirs = data_dirs_;
  auto report = Fsck(*node_->db, fo);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_TRUE(report->clean()) << report->orphan_files.size() << " orphans, "
                               << report->temp_files.size() << " temps, "
                               << report->missing.size() << " missing";
  EXPECT_EQ(report->objects_checked, 2u);

  // A write that crashed between create and rename leaves its temp file behind.
  const std::string temp = TmpDir() + "/" + FileId::Generate().ToHex();
  {
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "partial", 7), 7);
    ::close(fd);
  }
  report = Fsck(*node_->db, fo);
  ASSERT_TRUE(report.has_value());
  ASSERT_EQ(report->temp_files.size(), 1u);
  EXPECT_EQ(report->temp_files[0], temp);
  fo.repair = true;
  report = Fsck(*node_->db, fo);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->removed, 1u);
  EXPECT_FALSE(fs::exists(temp));
}

// ENOSPC: a 1 MiB tmpfs as a second data dir when we may mount (root); otherwise
// RLIMIT_FSIZE provokes EFBIG as a stand-in for the same failure path (no NoSpace code then).
TEST_F(ObjectIoTest, DiskFullFailsCleanly) {
  const std::string small_dir = dir_.path() + "/small";
  ASSERT_TRUE(fs::create_directory(small_dir));
  bool mounted = false;
  if (::geteuid() == 0) {
    mounted = ::mount("tmpfs", small_dir.c_str(), "tmpfs", 0, "size=1m") == 0;
  }
  rlimit old_limit{};
  bool limited = false;
  if (!mounted) {
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    rlimit lim = old_limit;
    lim.rlim_cur = 1u << 20;
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) {
      GTEST_SKIP() << "neither a tmpfs mount nor RLIMIT_FSIZE is available";
    }
    ::signal(SIGXFSZ, SIG_IGN);
    limited = true;
  }
  ObjectIoOptions o = options_;
  o.write_dir = 1;
  Stop();
  data_dirs_ = {dir_.path(), small_dir};
  options_ = o;
  Start();

  PutResult r;
  Status st = Put("full", RandomBytes(3u << 20, 16), &r);
  EXPECT_FALSE(st.ok());
  if (mounted) {
    EXPECT_EQ(st.code(), Code::kNoSpace) << st.ToString();
    EXPECT_GE(io_->stats().enospc.load(), 1u);
  } else {
    EXPECT_EQ(st.err(), EFBIG) << st.ToString();
  }
  EXPECT_TRUE(WaitDrained());
  EXPECT_TRUE(FilesUnder(small_dir + "/tmp").empty());
  EXPECT_TRUE(FilesUnder(small_dir + "/objects").empty());
  std::string value;
  EXPECT_EQ(Record("full", &value).error().code(), Code::kNotFound);

  // The space was given back: a smaller object fits.
  const std::string fits = RandomBytes(300000, 17);
  ASSERT_TRUE(Put("fits", fits, &r).ok());
  std::string got;
  ASSERT_TRUE(Get("fits", &got).ok());
  EXPECT_TRUE(got == fits);

  Stop();
  if (limited) {
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    ::signal(SIGXFSZ, SIG_DFL);
  }
  if (mounted) {
    ::umount(small_dir.c_str());
  }
  // Dropping a data dir is refused (data_dirs.h); this one held nothing: forget the set.
  fs::remove(dir_.path() + "/" + std::string(kDataDirIdFile));
  data_dirs_ = {dir_.path()};
  options_.write_dir = 0;
  Start();
  EXPECT_TRUE(mounted || limited);
  if (!mounted) {
    std::printf("[ NOTE     ] no tmpfs mount: ENOSPC exercised through RLIMIT_FSIZE (EFBIG)\n");
  }
}

// ---------------------------------------------------------------- O_DIRECT (direct_io)

// Declared sizes at and above direct_io_min_bytes are written with O_DIRECT: whole blocks
// direct, the tail past the last whole 4 KiB block through the page cache. Every size must
// read back byte-exact with the data file exactly as long as the object, with and without
// preallocation.
TEST_F(ObjectIoTest, DirectWritesAreByteExact) {
  const uint64_t min = 1u << 20;
  const struct {
    std::size_t size;
    bool direct;
  } cases[] = {
      {min - 1, false},           // below the threshold: buffered
      {min, true},                // whole blocks only
      {min + 1, true},            // one byte past a block
      {(2u << 20) + 4095, true},  // ends one byte short of a block
      {(3u << 20) + 100, true},   // ends mid-block, mid-chunk
      {(5u << 20) + 123, true},   // several windows
  };
  for (bool prealloc : {true, false}) {
    ObjectIoOptions o = options_;
    o.direct_io = true;
    o.direct_io_min_bytes = min;
    o.preallocate = prealloc;
    Restart(o);
    for (const auto& c : cases) {
      SCOPED_TRACE(::testing::Message() << "size " << c.size << " preallocate " << prealloc);
      const std::string data = RandomBytes(c.size, static_cast<uint32_t>(c.size));
      const std::string key = "d" + std::to_string(c.size);
      const uint64_t before = io_->stats().puts_direct.load();
      PutResult r;
      ASSERT_TRUE(
          Put(key, data, &r, {1, 4093, 65537, 333333, 1u << 20}, nullptr, c.size).ok());
      const uint64_t direct = io_->stats().puts_direct.load() - before;
      if (c.direct && direct == 0) {
        GTEST_SKIP() << "the test directory's filesystem has no O_DIRECT";
      }
      EXPECT_EQ(direct, c.direct ? 1u : 0u);
      EXPECT_EQ(r.EtagHex(), Md5Hex(data));
      EXPECT_EQ(fs::file_size(DataPath(r)), data.size());
      std::string got;
      ASSERT_TRUE(Get(key, &got).ok());
      EXPECT_TRUE(got == data);
    }
    EXPECT_TRUE(FilesUnder(TmpDir()).empty());
  }
}

// The declared size is a hint: a body of another size is stored as it came. A shorter one
// leaves preallocated blocks past its end, which no read reaches.
TEST_F(ObjectIoTest, DeclaredSizeIsOnlyAHint) {
  ObjectIoOptions o = options_;
  o.direct_io = true;
  Restart(o);
  const struct {
    std::size_t size;
    uint64_t declared;
  } cases[] = {{(2u << 20) + 5, 4u << 20}, {(3u << 20) + 7, 1u << 20}, {(1u << 20), 0}};
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << "size " << c.size << " declared " << c.declared);
    const std::string data = RandomBytes(c.size, 99);
    PutResult r;
    ASSERT_TRUE(Put("hint", data, &r, {65536}, nullptr, c.declared).ok());
    EXPECT_EQ(r.size, data.size());
    EXPECT_GE(fs::file_size(DataPath(r)), data.size());
    std::string got;
    ASSERT_TRUE(Get("hint", &got).ok());
    EXPECT_TRUE(got == data);
    std::string part;
    ASSERT_TRUE(Get("hint", &part, c.size - 10, 100).ok());
    EXPECT_EQ(part, data.substr(c.size - 10));
  }
}

// A full disk on the O_DIRECT path: the preallocation fails before the body is written, or
// (without it) a direct write does; either way a clean NoSpace and nothing left behind.
TEST_F(ObjectIoTest, DirectDiskFullFailsCleanly) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root for a size-limited tmpfs";
  }
  const std::string small_dir = dir_.path() + "/small";
  ASSERT_TRUE(fs::create_directory(small_dir));
  if (::mount("tmpfs", small_dir.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "tmpfs mount failed: errno " << errno;
  }
  for (bool prealloc : {true, false}) {
    SCOPED_TRACE(::testing::Message() << "preallocate " << prealloc);
    ObjectIoOptions o = options_;
    o.direct_io = true;
    o.preallocate = prealloc;
    o.write_dir = 1;
    Stop();
    data_dirs_ = {dir_.path(), small_dir};
    options_ = o;
    Start();
    const uint64_t enospc = io_->stats().enospc.load();
    PutResult r;
    const std::string data = RandomBytes(3u << 20, 21);
    Status st = Put("full", data, &r, {65536}, nullptr, data.size());
    EXPECT_EQ(st.code(), Code::kNoSpace) << st.ToString();
    EXPECT_GT(io_->stats().enospc.load(), enospc);
    EXPECT_TRUE(WaitDrained());
    EXPECT_TRUE(FilesUnder(small_dir + "/tmp").empty());
    EXPECT_TRUE(FilesUnder(small_dir + "/objects").empty());
    std::string value;
    EXPECT_EQ(Record("full", &value).error().code(), Code::kNotFound);
    // The space is back: a smaller object fits.
    const std::string fits = RandomBytes(300000, 22);
    ASSERT_TRUE(Put("fits", fits, &r, {65536}, nullptr, fits.size()).ok());
    std::string got;
    ASSERT_TRUE(Get("fits", &got).ok());
    EXPECT_TRUE(got == fits);
    bool existed = false;
    ASSERT_TRUE(Delete("fits", &existed).ok());
    EXPECT_TRUE(WaitDrained());
  }
  Stop();
  ::umount(small_dir.c_str());
  fs::remove(dir_.path() + "/" + std::string(kDataDirIdFile));
  data_dirs_ = {dir_.path()};
  options_.write_dir = 0;
  Start();
}

// A filesystem that refuses O_DIRECT (EINVAL, as tmpfs did before Linux 6.6) at the open or at
// the first write: the PUT goes on buffered and succeeds, and so do later PUTs to that dir
// (not tried direct again). The refusal is injected (core/fault.h) to run on any filesystem.
TEST_F(ObjectIoTest, DirectRefusedFallsBackToBuffered) {
  if (!core::fault::Compiled()) {
    GTEST_SKIP() << "this build has no fault injection (-Dfault_injection)";
  }
  for (const char* rule : {"op=open,match=refused,errno=22", "op=write,match=refused,errno=22"}) {
    SCOPED_TRACE(rule);
    ObjectIoOptions o = options_;
    o.direct_io = true;
    Stop();
    core::fault::Reset();
    ASSERT_TRUE(core::fault::Configure(rule).ok());
    options_ = o;
    Start();
    const std::string data = RandomBytes((2u << 20) + 77, 5);
    PutResult r;
    Status st = Put("refused", data, &r, {65536}, nullptr, data.size());
    ASSERT_TRUE(st.ok()) << st.ToString();
    std::string got;
    ASSERT_TRUE(Get("refused", &got).ok());
    EXPECT_TRUE(got == data);
    EXPECT_EQ(fs::file_size(DataPath(r)), data.size());
    EXPECT_TRUE(FilesUnder(TmpDir()).empty());
    // The dir is buffered from now on.
    const uint64_t direct = io_->stats().puts_direct.load();
    ASSERT_TRUE(Put("later", data, &r, {65536}, nullptr, data.size()).ok());
    EXPECT_EQ(io_->stats().puts_direct.load(), direct);
    ASSERT_TRUE(Get("later", &got).ok());
    EXPECT_TRUE(got == data);
  }
  Stop();
  core::fault::Reset();
  Start();
}

TEST_F(ObjectIoTest, StaleCompletionIsDropped) {
  // A completion for a slot that was never issued (or already reused) is counted and ignored.
  RunOnShard([&] {
    io_uring_sqe* sqe = core::Shard::Current()->ring().Sqe();
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, core::Handle::Make(core::Op::kFile, 12345, 3));
  });
  EXPECT_TRUE(WaitFor([&] { return io_->stats().stale_completions.load() == 1; }));
}

// ---------------------------------------------------------------- commit-time hook

class ObjectCommitTest : public ObjectIoTest {
 protected:
  // Starts every job on the shard in one go (their commits race), waits for all.
  void RunConcurrently(std::deque<PutJob>& jobs) {
    RunOnShard([&] {
      for (PutJob& j : jobs) {
        j.Start();
      }
    });
    for (PutJob& j : jobs) {
      ASSERT_TRUE(j.done.Wait());
    }
  }
  // fsck finds nothing to repair: `objects` records, `files` data files (no orphans).
  void ExpectFsckClean(uint64_t objects, uint64_t files) {
    ASSERT_TRUE(WaitDrained());
    FsckOptions fo;
    fo.data_dirs = data_dirs_;
    auto report = Fsck(*node_->db, fo);
    ASSERT_TRUE(report.has_value()) << report.error().ToString();
    EXPECT_TRUE(report->clean()) << report->orphan_files.size() << " orphans, "
                                 << report->temp_files.size() << " temps, "
                                 << report->missing.size() << " missing";
    EXPECT_EQ(report->objects_checked, objects);
    EXPECT_EQ(FilesUnder(ObjectsDir()).size(), files);
  }
  Status SetTags(const std::string& key, const std::vector<KeyValue>& tags, bool* existed) {
    DeleteJob job;
    Status begin;
    RunOnShard([&] {
      begin = io_->SetTags(kBucket, key, tags, &DeleteJob::OnDone, &job);
      if (!begin.ok()) {
        job.done.Set();
      }
    });
    EXPECT_TRUE(job.done.Wait());
    *existed = job.existed;
    return begin.ok() ? job.status : begin;
  }
};

// Formerly each PUT learned the record it replaced from a snapshot taken before enqueueing:
// PUTs of one key enqueued before either committed all saw the same old record, and every
// file but the last winner's and that old one was orphaned until fsck.
TEST_F(ObjectCommitTest, ConcurrentPutsOfOneKeyLeaveNoOrphan) {
  ASSERT_TRUE(Put("same", RandomBytes(200000, 40)).ok());
  for (int round = 0; round < 3; ++round) {
    std::deque<PutJob> jobs;
    for (int i = 0; i < 12; ++i) {
      PutJob& j = jobs.emplace_back();
      j.io = io_.get();
      j.key = "same";
      j.data = RandomBytes(i % 3 == 0 ? 5000 : 100000 + i, 50 + round * 100 + i);  // inline and file
    }
    RunConcurrently(jobs);
    for (PutJob& j : jobs) {
      ASSERT_TRUE(j.status.ok()) << j.status.ToString();
    }
    // The last one acknowledged is the one readers see.
    std::string value;
    auto rec = Record("same", &value);
    ASSERT_TRUE(rec.has_value());
    std::string got;
    ASSERT_TRUE(Get("same", &got).ok());
    bool matches_one = false;
    for (PutJob& j : jobs) {
      matches_one = matches_one || got == j.data;
    }
    EXPECT_TRUE(matches_one);
    const uint64_t files = rec->location.kind == LocationKind::kFile ? 1 : 0;
    ASSERT_TRUE(WaitDrained());
    EXPECT_EQ(FilesUnder(ObjectsDir()).size(), files) << "round " << round;
  }
}

TEST_F(ObjectCommitTest, IfNoneMatchStarExactlyOneOfConcurrentPutsWins) {
  uint64_t files = 0;
  for (int round = 0; round < 3; ++round) {
    const std::string key = "cond/" + std::to_string(round);
    std::deque<PutJob> jobs;
    for (int i = 0; i < 8; ++i) {
      PutJob& j = jobs.emplace_back();
      j.io = io_.get();
      j.key = key;
      j.data = RandomBytes(i % 2 == 0 ? 3000 : 90000, 200 + round * 10 + i);
      j.cond = PutCondition{true, false, {}};
    }
    RunConcurrently(jobs);
    int wins = 0;
    const PutJob* winner = nullptr;
    for (PutJob& j : jobs) {
      if (j.status.ok()) {
        ++wins;
        winner = &j;
      } else {
        EXPECT_EQ(j.status.code(), Code::kFailedPrecondition) << j.status.ToString();
      }
    }
    ASSERT_EQ(wins, 1) << "round " << round;
    std::string got;
    ASSERT_TRUE(Get(key, &got).ok());
    EXPECT_TRUE(got == winner->data);
    files += winner->result.location == LocationKind::kFile ? 1 : 0;
  }
  ExpectFsckClean(3, files);  // the losers' renamed files are gone
}

TEST_F(ObjectCommitTest, IfMatchAndIfNoneMatchAgainstTheCurrentRecord) {
  PutResult first;
  ASSERT_TRUE(Put("m", RandomBytes(50000, 60), &first).ok());
  const std::string etag = "\"" + first.EtagHex() + "\"";
  struct Case {
    const char* name;
    std::string key;
    PutCondition cond;
    bool ok;
  };
  const Case cases[] = {
      {"if-match right etag", "m", PutCondition{false, true, etag}, true},
      {"if-match old etag (replaced above)", "m", PutCondition{false, true, etag}, false},
      {"if-match star on existing", "m", PutCondition{false, true, "*"}, true},
      {"if-match on absent key", "absent", PutCondition{false, true, "*"}, false},
      {"if-none-match star on existing", "m", PutCondition{true, false, {}}, false},
      {"if-none-match star on absent", "fresh", PutCondition{true, false, {}}, true},
  };
  int seed = 61;
  for (const Case& c : cases) {
    PutJob job;
    job.io = io_.get();
    job.key = c.key;
    job.data = RandomBytes(40000, ++seed);
    job.cond = c.cond;
    RunOnShard([&] { job.Start(); });
    ASSERT_TRUE(job.done.Wait());
    EXPECT_EQ(job.status.ok(), c.ok) << c.name << ": " << job.status.ToString();
    if (!c.ok) {
      EXPECT_EQ(job.status.code(), Code::kFailedPrecondition) << c.name;
    }
  }
  ExpectFsckClean(2, 2);  // "m" and "fresh"
}

TEST_F(ObjectCommitTest, DeleteManyRemovesRecordsAndFiles) {
  ASSERT_TRUE(Put("d/1", "inline").ok());
  ASSERT_TRUE(Put("d/2", RandomBytes(70000, 70)).ok());
  ASSERT_TRUE(Put("d/3", RandomBytes(80000, 71)).ok());
  ASSERT_TRUE(Put("keep", RandomBytes(30000, 72)).ok());
  DeleteJob job;
  Status begin;
  const std::vector<std::string> keys = {"d/1", "d/2", "absent", "d/3", "d/2"};
  RunOnShard([&] {
    begin = io_->DeleteMany(kBucket, keys, &DeleteJob::OnDone, &job);
    if (!begin.ok()) {
      job.done.Set();
    }
  });
  ASSERT_TRUE(job.done.Wait());
  ASSERT_TRUE(begin.ok()) << begin.ToString();
  ASSERT_TRUE(job.status.ok()) << job.status.ToString();
  EXPECT_TRUE(job.existed);
  std::string v;
  for (const char* k : {"d/1", "d/2", "d/3"}) {
    EXPECT_EQ(node_->db->Get(Cf::kObjects, ObjectKey(kBucket, k), &v).code(), Code::kNotFound) << k;
  }
  ExpectFsckClean(1, 1);
}

TEST_F(ObjectCommitTest, SetTagsRewritesOnlyTheTags) {
  const std::string data = RandomBytes(60000, 80);
  PutJob put;
  put.io = io_.get();
  put.key = "t";
  put.data = data;
  put.tags = {KeyValue{"a", "1"}};
  RunOnShard([&] { put.Start(); });
  ASSERT_TRUE(put.done.Wait());
  ASSERT_TRUE(put.status.ok());
  std::string v1;
  auto before = Record("t", &v1);
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->tags, (std::vector<KeyValue>{{"a", "1"}}));
  bool existed = false;
  ASSERT_TRUE(SetTags("t", {{"x", "y"}, {"k", ""}}, &existed).ok());
  EXPECT_TRUE(existed);
  std::string v2;
  auto after = Record("t", &v2);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->tags, (std::vector<KeyValue>{{"x", "y"}, {"k", ""}}));
  EXPECT_EQ(after->location, before->location);
  EXPECT_EQ(after->etag, before->etag);
  ASSERT_TRUE(SetTags("t", {}, &existed).ok());
  std::string v3;
  EXPECT_TRUE(Record("t", &v3)->tags.empty());
  ASSERT_TRUE(SetTags("nope", {{"x", "y"}}, &existed).ok());
  EXPECT_FALSE(existed);
  EXPECT_EQ(node_->db->Get(Cf::kObjects, ObjectKey(kBucket, "nope"), &v3).code(), Code::kNotFound);
  std::string got;
  ASSERT_TRUE(Get("t", &got).ok());
  EXPECT_TRUE(got == data);
  ExpectFsckClean(1, 1);
}

// PurgeBucketContents: every object record of the bucket (single file, inline, multipart naming
// part files), every upload in progress with its parts, and all their data files go; another
// bucket's records stay.
TEST_F(ObjectIoTest, PurgeBucketContentsRemovesRecordsAndDataFiles) {
  PutResult single;
  ASSERT_TRUE(Put("single", RandomBytes(200000, 1), &single).ok());
  ASSERT_TRUE(Put("inline", "abc").ok());
  ASSERT_TRUE(Put("dir/sub/leaf", "abc").ok());  // directory index entries to purge
  // A completed multipart object naming two part files. Parts commit only while their upload
  // record exists (the part writer's uploads are keyed by the empty object key).
  const UploadId done_up = UploadId::Make(1, 1);
  const UploadId open_up = UploadId::Make(2, 2);
  std::string enc, upload_value;
  EncodeUpload(UploadRecord{}, &upload_value);
  ASSERT_TRUE(node_->db->Put(Cf::kUploads, UploadKey(kBucket, "", done_up), upload_value).ok());
  ASSERT_TRUE(node_->db->Put(Cf::kUploads, UploadKey(kBucket, "", open_up), upload_value).ok());
  PutResult p1, p2;
  ASSERT_TRUE(PutPart(done_up, 1, RandomBytes(100000, 2), &p1).ok());
  ASSERT_TRUE(PutPart(done_up, 2, RandomBytes(100000, 3), &p2).ok());
  ObjectRecord rec;
  rec.etag_kind = EtagKind::kMultipart;
  rec.etag = "0123456789abcdef0123456789abcdef-2";
  rec.size = 200000;
  rec.location.kind = LocationKind::kParts;
  rec.parts = {{100000, p1.xxh3, {LocationKind::kFile, {}, p1.file, 0}},
               {100000, p2.xxh3, {LocationKind::kFile, {}, p2.file, 0}}};
  EncodeObject(rec, &enc);
  // An upload in progress with one part, and a neighbour bucket's object.
  PutResult p3;
  ASSERT_TRUE(PutPart(open_up, 1, RandomBytes(100000, 4), &p3).ok());
  {
    MetaBatch b(*node_->db);
    ASSERT_TRUE(b.Put(Cf::kObjects, ObjectKey(kBucket, "multi"), enc).ok());
    ASSERT_TRUE(b.Delete(Cf::kParts, PartKey(done_up, 1)).ok());
    ASSERT_TRUE(b.Delete(Cf::kParts, PartKey(done_up, 2)).ok());
    ASSERT_TRUE(b.Delete(Cf::kUploads, UploadKey(kBucket, "", done_up)).ok());
    ASSERT_TRUE(b.Delete(Cf::kUploads, UploadKey(kBucket, "", open_up)).ok());
    ASSERT_TRUE(b.Put(Cf::kUploads, UploadKey(kBucket, "open", open_up), upload_value).ok());
    ASSERT_TRUE(b.Put(Cf::kUploads, UploadKey(kBucket, "open-empty", UploadId::Make(3, 3)), upload_value).ok());
    ASSERT_TRUE(b.Put(Cf::kObjects, ObjectKey(kBucket + 1, "neighbour"), "x").ok());
    ASSERT_TRUE(node_->commits->Write(&b).ok());
  }
  EXPECT_EQ(FilesUnder(ObjectsDir()).size(), 4u);

  struct Done {
    Status status;
    PurgeStats stats;
    Latch latch;
    static void Cb(void* ctx, Status st, const PurgeStats& stats) {
      auto* d = static_cast<Done*>(ctx);
      d->status = std::move(st);
      d->stats = stats;
      d->latch.Set();
    }
  } done;
  Status begin;
  RunOnShard([&] {
    begin = PurgeBucketContents(*io_, *node_->db, kBucket, &Done::Cb, &done);
    EXPECT_FALSE(done.latch.is_set());  // never from inside the call
    if (!begin.ok()) done.latch.Set();
  });
  ASSERT_TRUE(done.latch.Wait());
  ASSERT_TRUE(begin.ok() && done.status.ok()) << done.status.ToString();
  EXPECT_EQ(done.stats.objects, 4u);
  EXPECT_EQ(done.stats.uploads, 2u);
  // The directory index follows the purge's deletes (commit thread): nothing of the bucket's
  // is left, the neighbour's entry stays, and the index matches the objects.
  {
    auto it = node_->db->NewIterator(Cf::kDirs, rocksdb::ReadOptions());
    const std::string bp = BucketPrefix(kBucket);
    it->Seek(bp);
    EXPECT_TRUE(!it->Valid() || !it->key().starts_with(bp)) << "dirs entries left after purge";
    std::string nv;
    EXPECT_TRUE(node_->db->Get(Cf::kDirs, DirsKey(kBucket + 1, "", "neighbour"), &nv).ok());
    DirsCheck check;
    ASSERT_TRUE(CheckDirsIndex(*node_->db, /*repair=*/false, &check).ok());
    EXPECT_EQ(check.missing, 0u);
    EXPECT_EQ(check.stale, 0u);
  }
  std::string v;
  for (const char* k : {"single", "inline", "multi", "dir/sub/leaf"}) {
    EXPECT_EQ(node_->db->Get(Cf::kObjects, ObjectKey(kBucket, k), &v).code(), Code::kNotFound) << k;
  }
  EXPECT_EQ(node_->db->Get(Cf::kUploads, UploadKey(kBucket, "open", open_up), &v).code(), Code::kNotFound);
  EXPECT_EQ(node_->db->Get(Cf::kParts, PartKey(open_up, 1), &v).code(), Code::kNotFound);
  EXPECT_TRUE(node_->db->Get(Cf::kObjects, ObjectKey(kBucket + 1, "neighbour"), &v).ok());
  EXPECT_TRUE(WaitFor([&] { return FilesUnder(ObjectsDir()).empty(); }));
  EXPECT_TRUE(WaitDrained());
}

}  // namespace
}  // namespace mamute::store
