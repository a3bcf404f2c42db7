#include "store/dirs.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/commit_queue.h"
#include "store/fsck.h"
#include "store/listing.h"
#include "test_util.h"

namespace mamute::store {
namespace {

using namespace std::string_literals;
using testing::Printable;
using testing::TempDir;
using Entry = std::pair<std::string, std::string>;


std::vector<Entry> EntriesOf(std::string_view key) {
  std::vector<Entry> v;
  ForEachDirsEntry(key, [&](std::string_view p, std::string_view c) { v.emplace_back(p, c); });
  return v;
}

TEST(DirsKeys, EntriesOfAKey) {
  EXPECT_EQ(EntriesOf("a/b/c"), (std::vector<Entry>{{"", "a/"}, {"a/", "b/"}, {"a/b/", "c"}}));
  EXPECT_EQ(EntriesOf("photos/"), (std::vector<Entry>{{"", "photos/"}, {"photos/", ""}}));
  EXPECT_EQ(EntriesOf("a//b"), (std::vector<Entry>{{"", "a/"}, {"a/", "/"}, {"a//", "b"}}));
  EXPECT_EQ(EntriesOf("abc"), (std::vector<Entry>{{"", "abc"}}));
  EXPECT_EQ(EntriesOf(""), (std::vector<Entry>{{"", ""}}));
  EXPECT_EQ(EntriesOf("/"), (std::vector<Entry>{{"", "/"}, {"/", ""}}));
}

TEST(DirsKeys, RoundTripAndOrder) {
  const std::string k = DirsKey(7, "a\0/"s, "x\xff");
  auto d = DecodeDirsKey(k);
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  EXPECT_EQ(d->bucket, 7u);
  EXPECT_EQ(d->parent, "a\0/"s);
  EXPECT_EQ(d->child, "x\xff");
  // Children of one parent sort as their bytes; a parent's entries never interleave with a
  // longer parent's (prefix-free escaping).
  EXPECT_LT(DirsKey(1, "a/", "b"), DirsKey(1, "a/", "b/"));
  EXPECT_LT(DirsKey(1, "a/", "b/"), DirsKey(1, "a/", "b0"));
  EXPECT_LT(DirsKey(1, "a/", "\xff\xff"), DirsKey(1, "a/\0/"s, ""));
  EXPECT_FALSE(DecodeDirsKey("short").has_value());
  EXPECT_FALSE(DecodeDirsKey(DirsKey(1, "a", "b")).has_value());   // parent without '/'
  EXPECT_FALSE(DecodeDirsKey(DirsKey(1, "", "a/b")).has_value());  // '/' inside the child
}

// Completion latch for a burst of commit requests.
struct Burst {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  int failed = 0;
  static void Cb(void* ctx, Status st) {
    auto* b = static_cast<Burst*>(ctx);
    std::lock_guard<std::mutex> lk(b->mu);
    ++b->done;
    b->failed += st.ok() ? 0 : 1;
    b->cv.notify_all();
  }
};

// A prepare hook that reads every objects key of its batch through the view, as a PUT's hook
// reads the record it replaces (the commit queue then spares the index read: LastObjectsRead).
Status ReadKeysPrepare(void*, const CommitView& view, MetaBatch* batch) {
  struct Keys final : rocksdb::WriteBatch::Handler {
    std::vector<std::string> keys;
    rocksdb::Status PutCF(uint32_t, const rocksdb::Slice& k, const rocksdb::Slice&) override {
      keys.emplace_back(k.ToString());
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice& k) override {
      keys.emplace_back(k.ToString());
      return rocksdb::Status::OK();
    }
  } h;
  if (!batch->rep()->Iterate(&h).ok()) return Status::Internal("iterate");
  std::string v;
  for (const std::string& k : h.keys) {
    Status st = view.Get(Cf::kObjects, k, &v);
    if (!st.ok() && st.code() != Code::kNotFound) return st;
  }
  return Status::Ok();
}

class DirsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    auto db = MetaDb::Open(dir_.path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    queue_ = std::make_unique<CommitQueue>(db_.get());
    ASSERT_TRUE(queue_->Start().ok());
  }
  void Close() {
    queue_.reset();
    db_.reset();
  }
  void ExpectIndexMatchesObjects(const std::string& where) {
    DirsCheck c;
    ASSERT_TRUE(CheckDirsIndex(*db_, /*repair=*/false, &c).ok());
    EXPECT_FALSE(c.marker_missing) << where;
    EXPECT_EQ(c.missing, 0u) << where << (c.samples.empty() ? "" : ": " + c.samples[0]);
    EXPECT_EQ(c.stale, 0u) << where << (c.samples.empty() ? "" : ": " + c.samples[0]);
  }
  static std::string Value(int i) {
    static const std::string kEtag(16, '\x01');  // records borrow: it must outlive `rec`
    ObjectRecord rec;
    rec.etag = kEtag;
    rec.mtime_ms = i;
    std::string v;
    EncodeObject(rec, &v);
    return v;
  }

  TempDir dir_;
  std::unique_ptr<MetaDb> db_;
  std::unique_ptr<CommitQueue> queue_;
};

// Lists one whole listing page by page on one path; returns every page's items (prefixes
// marked with a trailing "\x01P"), truncation and token, for a page-by-page comparison.
std::vector<std::string> Pages(const MetaDb& db, BucketId bucket, const std::string& prefix,
                               const std::string& start_after, int64_t max, bool use_index,
                               bool v1) {
  std::vector<std::string> out;
  std::string token;
  std::string marker = start_after;
  for (int page = 0; page < 500; ++page) {
    ListRequest req;
    req.bucket = bucket;
    req.prefix = prefix;
    req.delimiter = "/";
    req.max_keys = max;
    req.use_dirs_index = use_index;
    if (v1) {
      req.start_after = marker;
    } else {
      req.start_after = start_after;
      req.continuation_token = token;
    }
    auto r = v1 ? ListObjectsV1(db, req) : ListObjectsV2(db, req);
    if (!r) {
      out.push_back("error: " + r.error().ToString());
      return out;
    }
    EXPECT_EQ(r->used_dirs_index, use_index);
    std::string line;
    for (const ListedObject& o : r->objects) {
      line += o.key + "|" + std::to_string(o.mtime_ms) + "\n";
    }
    for (const std::string& p : r->common_prefixes) {
      line += p + "\x01P\n";
    }
    line += r->is_truncated ? "T " + r->next_continuation_token + " " + r->next_marker : "E";
    out.push_back(line);
    if (!r->is_truncated) {
      break;
    }
    token = r->next_continuation_token;
    marker = r->next_marker;
  }
  return out;
}

// The strongest check: random keys (empty segments, "//", trailing "/", keys equal to prefixes,
// unicode, NUL and 0xff bytes) put, overwritten and deleted in random bursts through the real
// commit queue (groups of several requests, several keys a request); then the index equals
// the one the objects imply, and for many (prefix, start-after, max-keys) the index listing
// equals the seek listing page by page, through continuation tokens (v2) and markers (v1).
TEST_F(DirsTest, IndexListingEqualsSeekListing) {
  std::mt19937 rng(20261129);
  const std::vector<std::string> atoms = {"a", "b", "/", "/", "\0"s, "\xff"s, "日", "z", "ab"};
  auto random_key = [&] {
    std::string k;
    const int n = static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) k += atoms[rng() % atoms.size()];
    return k;
  };
  std::vector<std::string> universe;
  for (int i = 0; i < 300; ++i) universe.push_back(random_key());
  for (const char* k : {"photos/", "photos/2024/a", "photos/2024/", "a//b", "a/", "a", "//", "/"}) {
    universe.push_back(k);
  }
  constexpr BucketId kBucket = 3;
  std::set<std::string> live;
  for (int round = 0; round < 60; ++round) {
    Burst burst;
    std::deque<CommitRequest> reqs;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      CommitRequest& r = reqs.emplace_back(*db_);
      r.callback = &Burst::Cb;
      r.ctx = &burst;
      const int ops = 1 + static_cast<int>(rng() % 3);
      for (int j = 0; j < ops; ++j) {
        const std::string& k = universe[rng() % universe.size()];
        // Deletes are rarer than puts, so the bucket grows over the rounds.
        if (rng() % 3 == 0) {
          ASSERT_TRUE(r.batch.Delete(Cf::kObjects, ObjectKey(kBucket, k)).ok());
          live.erase(k);
        } else {
          ASSERT_TRUE(r.batch.Put(Cf::kObjects, ObjectKey(kBucket, k), Value(round)).ok());
          live.insert(k);
        }
      }
      // Half the requests read their keys in a prepare hook, like PUTs.
      if (rng() % 2 == 0) {
        r.prepare = &ReadKeysPrepare;
      }
      // A neighbour bucket's keys interleave in the same groups.
      if (rng() % 4 == 0) {
        ASSERT_TRUE(r.batch.Put(Cf::kObjects, ObjectKey(kBucket + 1, random_key()), Value(1)).ok());
      }
    }
    for (CommitRequest& r : reqs) ASSERT_TRUE(queue_->Enqueue(&r).ok());
    std::unique_lock<std::mutex> lk(burst.mu);
    burst.cv.wait(lk, [&] { return burst.done == n; });
    ASSERT_EQ(burst.failed, 0);
  }
  ASSERT_FALSE(live.empty());
  ExpectIndexMatchesObjects("after the random sequence");

  std::vector<std::string> prefixes = {"", "a", "a/", "a//", "photos/", "photos/2024/", "/", "\xff",
                                       "日", "z/\0"s, "nothing/"};
  for (const std::string& k : live) {
    if (rng() % 8 == 0) prefixes.push_back(k.substr(0, rng() % (k.size() + 1)));
  }
  std::vector<std::string> afters = {"", "a", "a/", "a/b", "photos/2024/", "\xff\xff", "/"};
  for (const std::string& k : live) {
    if (rng() % 10 == 0) afters.push_back(k);
  }
  int compared = 0;
  for (const std::string& p : prefixes) {
    for (const std::string& a : afters) {
      for (int64_t max : {1, 2, 3, 7, 1000}) {
        for (bool v1 : {false, true}) {
          auto seek = Pages(*db_, kBucket, p, a, max, false, v1);
          auto index = Pages(*db_, kBucket, p, a, max, true, v1);
          ASSERT_EQ(index, seek) << "prefix=" << Printable(p) << " after=" << Printable(a)
                                 << " max=" << max << (v1 ? " v1" : " v2");
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(compared, 500);
}

// Deleting every key leaves no entry: directories go bottom-up once nothing is under them,
// and stay while something still is.
TEST_F(DirsTest, DeletesRemoveEmptyDirectoriesOnly) {
  auto put = [&](const std::string& k) {
    MetaBatch b(*db_);
    ASSERT_TRUE(b.Put(Cf::kObjects, ObjectKey(1, k), Value(1)).ok());
    ASSERT_TRUE(queue_->Write(&b).ok());
  };
  auto del = [&](const std::string& k) {
    MetaBatch b(*db_);
    ASSERT_TRUE(b.Delete(Cf::kObjects, ObjectKey(1, k)).ok());
    ASSERT_TRUE(queue_->Write(&b).ok());
  };
  auto has = [&](std::string_view parent, std::string_view child) {
    std::string v;
    return db_->Get(Cf::kDirs, DirsKey(1, parent, child), &v).ok();
  };
  put("a/b/c");
  put("a/x");
  EXPECT_TRUE(has("", "a/") && has("a/", "b/") && has("a/b/", "c") && has("a/", "x"));
  del("a/b/c");
  EXPECT_FALSE(has("a/b/", "c"));
  EXPECT_FALSE(has("a/", "b/"));  // empty now
  EXPECT_TRUE(has("", "a/"));     // a/x is still under it
  put("a/b/");                    // a key equal to a prefix
  EXPECT_TRUE(has("a/", "b/") && has("a/b/", ""));
  del("a/x");
  del("a/b/");
  del("never/existed");
  ExpectIndexMatchesObjects("after deleting everything");
  auto it = db_->NewIterator(Cf::kDirs, rocksdb::ReadOptions());
  int entries = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    entries += it->key().ToStringView() == kDirsBuiltKey ? 0 : 1;
  }
  EXPECT_EQ(entries, 0);
}

// A DB from before the index (no dirs column family) gets it built from its objects at open.
TEST_F(DirsTest, BuiltOnOpenOfAnOlderDb) {
  Close();
  TempDir old_dir;
  {
    // The eight column families of the previous layout, written by RocksDB directly.
    rocksdb::DBOptions o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    descs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
    for (std::size_t i = 0; i < kCfCount; ++i) {
      if (static_cast<Cf>(i) != Cf::kDirs) {
        descs.emplace_back(std::string(CfName(static_cast<Cf>(i))), rocksdb::ColumnFamilyOptions());
      }
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, old_dir.path() + "/meta", descs, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::ColumnFamilyHandle* objects = handles[1 + static_cast<std::size_t>(Cf::kObjects)];
    for (const char* k : {"a/b/c", "a/b/d", "a/x", "top", "p/", "p/q//r"}) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), objects, ObjectKey(2, k), Value(1)).ok());
    }
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  {
    // As `mamute fsck` without --repair opens it: no new DB, no build. The missing column
    // family is created, the index is not ready, and "/" listings take the seek path.
    MetaDbOptions ro;
    ro.create_if_missing = false;
    ro.build_dirs_index = false;
    auto plain = MetaDb::Open(old_dir.path(), ro);
    ASSERT_TRUE(plain.has_value()) << plain.error().ToString();
    EXPECT_FALSE((*plain)->dirs_ready());
    ListRequest req;
    req.bucket = 2;
    req.delimiter = "/";
    auto r = ListObjectsV2(**plain, req);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->used_dirs_index);
    EXPECT_EQ(r->common_prefixes, (std::vector<std::string>{"a/", "p/"}));
    DirsCheck c;
    ASSERT_TRUE(CheckDirsIndex(**plain, /*repair=*/false, &c).ok());
    EXPECT_TRUE(c.marker_missing);
  }
  auto db = MetaDb::Open(old_dir.path());
  ASSERT_TRUE(db.has_value()) << db.error().ToString();
  db_ = std::move(*db);
  EXPECT_TRUE(db_->dirs_ready());
  std::string v;
  EXPECT_TRUE(db_->Get(Cf::kDirs, kDirsBuiltKey, &v).ok());
  ExpectIndexMatchesObjects("built at open");
  ListRequest req;
  req.bucket = 2;
  req.delimiter = "/";
  auto r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->used_dirs_index);
  EXPECT_EQ(r->common_prefixes, (std::vector<std::string>{"a/", "p/"}));
  ASSERT_EQ(r->objects.size(), 1u);
  EXPECT_EQ(r->objects[0].key, "top");
  // Reopening does not build again (the marker says it is built): an entry removed behind the
  // index's back stays removed until fsck repairs it.
  ASSERT_TRUE(db_->Delete(Cf::kDirs, DirsKey(2, "", "top")).ok());
  db_.reset();
  db = MetaDb::Open(old_dir.path());
  ASSERT_TRUE(db.has_value());
  db_ = std::move(*db);
  EXPECT_EQ(db_->Get(Cf::kDirs, DirsKey(2, "", "top"), &v).code(), Code::kNotFound);
  db_.reset();  // before old_dir goes
}

// fsck finds a damaged index (a missing directory, a stale leaf, a bad value), reports it,
// and repair makes it match the objects again.
TEST_F(DirsTest, FsckFindsAndRepairsTheIndex) {
  ASSERT_TRUE(testing::AddTestBuckets(*db_).ok());
  for (const char* k : {"a/b/c", "a/x", "top"}) {
    MetaBatch b(*db_);
    ASSERT_TRUE(b.Put(Cf::kObjects, ObjectKey(1, k), Value(1)).ok());
    ASSERT_TRUE(queue_->Write(&b).ok());
  }
  queue_.reset();  // fsck runs while nothing else writes
  auto clean = Fsck(*db_, FsckOptions{{dir_.path()}, false});
  ASSERT_TRUE(clean.has_value());
  EXPECT_TRUE(clean->clean());
  EXPECT_EQ(clean->dirs.entries_checked, 5u);  // "a/" "b/" "c" "x" "top"

  ASSERT_TRUE(db_->Delete(Cf::kDirs, DirsKey(1, "a/", "b/")).ok());               // missing
  ASSERT_TRUE(db_->Put(Cf::kDirs, DirsKey(1, "", "ghost"), DirsValue()).ok());    // stale leaf
  ASSERT_TRUE(db_->Put(Cf::kDirs, DirsKey(1, "gone/", ""), DirsValue()).ok());    // stale leaf
  ASSERT_TRUE(db_->Put(Cf::kDirs, DirsKey(1, "", "zz/"), DirsValue()).ok());      // stale dir
  ASSERT_TRUE(db_->Put(Cf::kDirs, DirsKey(1, "a/", "x"), "").ok());           // bad value
  auto found = Fsck(*db_, FsckOptions{{dir_.path()}, false});
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->clean());
  EXPECT_EQ(found->dirs.missing, 1u);
  EXPECT_EQ(found->dirs.stale, 4u);
  EXPECT_EQ(found->dirs.samples.size(), 5u);
  EXPECT_EQ(found->dirs.repaired, 0u);

  auto repaired = Fsck(*db_, FsckOptions{{dir_.path()}, true});
  ASSERT_TRUE(repaired.has_value());
  EXPECT_EQ(repaired->dirs.repaired, 5u);
  auto after = Fsck(*db_, FsckOptions{{dir_.path()}, false});
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->clean()) << (after->dirs.samples.empty() ? "" : after->dirs.samples[0]);
  ExpectIndexMatchesObjects("after repair");
}

// A leaf whose object record is gone is an inconsistency the listing reports, never hides.
TEST_F(DirsTest, LeafWithoutObjectIsCorruption) {
  ASSERT_TRUE(db_->Put(Cf::kDirs, DirsKey(4, "", "orphan"), DirsValue()).ok());
  ListRequest req;
  req.bucket = 4;
  req.delimiter = "/";
  auto r = ListObjectsV2(*db_, req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kCorruption);
}

}  // namespace
}  // namespace mamute::store
