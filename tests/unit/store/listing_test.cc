#include "store/listing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "store/dirs.h"
#include "test_util.h"

namespace mamute::store {
namespace {

using namespace std::string_literals;
using testing::Printable;
using testing::TempDir;

const std::string kMd5(16, '\x01');

void PutKeys(MetaDb& db, BucketId bucket, const std::vector<std::string>& keys) {
  ObjectRecord rec;
  rec.etag = kMd5;
  std::string value;
  MetaBatch batch(db);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    rec.size = 0;
    rec.mtime_ms = static_cast<int64_t>(i);
    EncodeObject(rec, &value);
    ASSERT_TRUE(batch.Put(Cf::kObjects, ObjectKey(bucket, keys[i]), value).ok());
    if (batch.Count() >= 10000) {
      ASSERT_TRUE(db.Write(batch.rep(), false).ok());
      batch.Clear();
    }
  }
  ASSERT_TRUE(db.Write(batch.rep(), false).ok());
  // Written around the commit queue: derive the directory index again (store/dirs.h).
  ASSERT_TRUE(RebuildDirsIndex(db).ok());
}

std::vector<std::string> Keys(const ListResult& r) {
  std::vector<std::string> v;
  for (const ListedObject& o : r.objects) {
    v.push_back(o.key);
  }
  return v;
}

// The reference semantics, by brute force over the sorted key set: roll keys up into common
// prefixes, then keep the entries strictly after `after`.
struct ModelEntry {
  std::string item;
  bool is_prefix;
  friend bool operator==(const ModelEntry&, const ModelEntry&) = default;
};
std::vector<ModelEntry> Model(std::vector<std::string> keys, std::string_view prefix,
                              std::string_view delim, std::string_view after) {
  std::sort(keys.begin(), keys.end());
  std::vector<ModelEntry> out;
  for (const std::string& k : keys) {
    if (!std::string_view(k).starts_with(prefix)) {
      continue;
    }
    ModelEntry e{k, false};
    if (!delim.empty()) {
      std::size_t pos = k.find(delim, prefix.size());
      if (pos != std::string::npos) {
        e = {k.substr(0, pos + delim.size()), true};
      }
    }
    if (!out.empty() && out.back() == e) {
      continue;
    }
    if (!after.empty() && e.item <= after) {
      continue;
    }
    out.push_back(e);
  }
  return out;
}

std::vector<ModelEntry> Entries(const ListResult& r) {
  std::vector<ModelEntry> v;
  for (const ListedObject& o : r.objects) {
    v.push_back({o.key, false});
  }
  for (const std::string& p : r.common_prefixes) {
    v.push_back({p, true});
  }
  std::sort(v.begin(), v.end(), [](const ModelEntry& a, const ModelEntry& b) { return a.item < b.item; });
  return v;
}


class ListingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = MetaDb::Open(dir_.path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
  }
  TempDir dir_;
  std::unique_ptr<MetaDb> db_;
};

const std::vector<std::string> kKeys = {
    "a", "a/", "a/b", "a/b/c", "a/c", "b", "c/d",
    "photos/2024/jan.jpg", "photos/2024/feb.jpg", "photos/2025/x", "photos/index.html",
    "日本/x", "日本/y", "\xff"s, "\xff\xff/a"s, "x\x00y"s, "x\x00/z"s,
};

TEST_F(ListingTest, Table) {
  PutKeys(*db_, 7, kKeys);
  // Neighbouring buckets must never leak into bucket 7's listings.
  PutKeys(*db_, 6, {"a", "zzz", "\xff\xff\xff"s});
  PutKeys(*db_, 8, {"", "a", "\x00"s});
  struct Case {
    std::string name;
    std::string prefix;
    std::string delim;
    std::vector<std::string> objects;
    std::vector<std::string> prefixes;
  };
  const Case cases[] = {
      {"empty prefix, no delimiter", "", "",
       {"a", "a/", "a/b", "a/b/c", "a/c", "b", "c/d", "photos/2024/feb.jpg", "photos/2024/jan.jpg",
        "photos/2025/x", "photos/index.html", "x\x00/z"s, "x\x00y"s, "日本/x", "日本/y", "\xff"s,
        "\xff\xff/a"s},
       {}},
      {"empty prefix, slash", "", "/", {"a", "b", "x\x00y"s, "\xff"s},
       {"a/", "c/", "photos/", "x\x00/"s, "日本/", "\xff\xff/"s}},
      {"folder prefix", "photos/", "/", {"photos/index.html"}, {"photos/2024/", "photos/2025/"}},
      {"key equal to prefix", "a/", "/", {"a/", "a/b", "a/c"}, {"a/b/"}},
      {"prefix without trailing delimiter", "a", "/", {"a"}, {"a/"}},
      {"leaf folder", "photos/2024/", "/", {"photos/2024/feb.jpg", "photos/2024/jan.jpg"}, {}},
      {"multi-char delimiter", "photos/", "20", {"photos/index.html"}, {"photos/20"}},
      {"NUL delimiter", "", "\x00"s, {"a", "a/", "a/b", "a/b/c", "a/c", "b", "c/d",
       "photos/2024/feb.jpg", "photos/2024/jan.jpg", "photos/2025/x", "photos/index.html",
       "日本/x", "日本/y", "\xff"s, "\xff\xff/a"s}, {"x\x00"s}},
      {"unicode prefix", "日本/", "/", {"日本/x", "日本/y"}, {}},
      {"0xff prefix", "\xff"s, "/", {"\xff"s}, {"\xff\xff/"s}},
      {"0xff 0xff prefix", "\xff\xff"s, "", {"\xff\xff/a"s}, {}},
      {"no match", "zzz", "/", {}, {}},
      {"delimiter never found", "a/", "#", {"a/", "a/b", "a/b/c", "a/c"}, {}},
  };
  for (bool use_index : {true, false}) {
    for (const Case& c : cases) {
      ListRequest req;
      req.bucket = 7;
      req.prefix = c.prefix;
      req.delimiter = c.delim;
      req.use_dirs_index = use_index;
      const std::string name = c.name + (use_index ? " (index)" : " (seek)");
      auto r = ListObjectsV2(*db_, req);
      ASSERT_TRUE(r.has_value()) << name << ": " << r.error().ToString();
      EXPECT_EQ(Keys(*r), c.objects) << name;
      EXPECT_EQ(r->common_prefixes, c.prefixes) << name;
      EXPECT_FALSE(r->is_truncated) << name;
      EXPECT_EQ(r->key_count(), c.objects.size() + c.prefixes.size()) << name;
    }
  }
}

TEST_F(ListingTest, LastBucketIdAndAll0xffPrefix) {
  const BucketId last = ~0ull;
  PutKeys(*db_, last, {"\xff"s, "\xff\xff"s, "\xff\xff\xff"s, "a"});
  ListRequest req;
  req.bucket = last;
  const std::string ff = "\xff"s;  // a named string: the request holds views
  req.prefix = ff;
  auto r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Keys(*r), (std::vector<std::string>{"\xff"s, "\xff\xff"s, "\xff\xff\xff"s}));
  req.prefix = "";
  req.delimiter = ff;  // common prefix "\xff" has no successor inside the keyspace
  r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Keys(*r), (std::vector<std::string>{"a"}));
  EXPECT_EQ(r->common_prefixes, (std::vector<std::string>{"\xff"s}));
}

// Pages through one listing with continuation tokens (v2) or markers (v1) and checks that the
// pages together are exactly the model's one-page result: no duplicates, no gaps.
// Both listing paths: the directory index (delimiter "/") and the seek path.
void ExpectPagesMatchModelOn(const MetaDb& db, BucketId bucket, const std::vector<std::string>& keys,
                             const std::string& prefix, const std::string& delim, int64_t max,
                             bool v1, bool use_index) {
  const std::vector<ModelEntry> want = Model(keys, prefix, delim, "");
  std::vector<ModelEntry> got;
  std::string token;
  std::string marker;
  const std::string where = "prefix=" + Printable(prefix) + " delim=" + Printable(delim) +
                            " max=" + std::to_string(max) + (v1 ? " v1" : " v2") +
                            (use_index ? " index" : " seek");
  for (int page = 0; page < 200; ++page) {
    ListRequest req;
    req.use_dirs_index = use_index;
    req.bucket = bucket;
    req.prefix = prefix;
    req.delimiter = delim;
    req.max_keys = max;
    if (v1) {
      req.start_after = marker;
    } else {
      req.continuation_token = token;
    }
    auto r = v1 ? ListObjectsV1(db, req) : ListObjectsV2(db, req);
    ASSERT_TRUE(r.has_value()) << where << ": " << r.error().ToString();
    EXPECT_EQ(r->used_dirs_index, use_index && delim == "/") << where;
    ASSERT_LE(r->key_count(), static_cast<std::size_t>(max)) << where;
    auto entries = Entries(*r);
    got.insert(got.end(), entries.begin(), entries.end());
    if (!r->is_truncated) {
      EXPECT_TRUE(r->next_continuation_token.empty()) << where;
      break;
    }
    ASSERT_EQ(r->key_count(), static_cast<std::size_t>(max)) << where;
    if (v1) {
      if (delim.empty()) {
        EXPECT_TRUE(r->next_marker.empty()) << where;
        marker = r->objects.back().key;
      } else {
        ASSERT_FALSE(r->next_marker.empty()) << where;
        marker = r->next_marker;
      }
    } else {
      ASSERT_FALSE(r->next_continuation_token.empty()) << where;
      token = r->next_continuation_token;
    }
  }
  EXPECT_EQ(got, want) << where;
}

void ExpectPagesMatchModel(const MetaDb& db, BucketId bucket, const std::vector<std::string>& keys,
                           const std::string& prefix, const std::string& delim, int64_t max,
                           bool v1) {
  for (bool use_index : {true, false}) {
    ExpectPagesMatchModelOn(db, bucket, keys, prefix, delim, max, v1, use_index);
  }
}

// Paging through any listing with continuation tokens gives exactly the one-page result: no
// duplicates, no gaps, whatever the page size; v1 with NextMarker / last key gives the same.
TEST_F(ListingTest, PaginationMatchesModel) {
  std::vector<std::string> keys = kKeys;
  for (int i = 0; i < 30; ++i) {
    keys.push_back("deep/" + std::to_string(i % 4) + "/" + std::to_string(i));
  }
  PutKeys(*db_, 3, keys);
  const std::string prefixes[] = {"", "a", "a/", "deep/", "photos/", "x", "\xff"s};
  const std::string delims[] = {"", "/", "20", "\x00"s, "a"};
  for (const std::string& prefix : prefixes) {
    for (const std::string& delim : delims) {
      for (int64_t max : {1, 2, 3, 7, 1000}) {
        for (bool v1 : {false, true}) {
          ExpectPagesMatchModel(*db_, 3, keys, prefix, delim, max, v1);
        }
      }
    }
  }
}

// Next-before-Seek (kListProbeBackoff): the probe's Next lands on the first key after a common
// prefix, on another key under it, or on nothing; each must list exactly what the model says.
// Edges: the next key right at the prefix boundary ("a/" then "a0", '0' = '/' + 1), keys equal
// to their prefix, 0xff bytes (the prefix successor carries), a big prefix that sends the
// listing into backoff followed by one-key prefixes (probing resumes), continuation tokens
// and markers landing inside a prefix (every page size), flushed to an SST and in the memtable.
TEST_F(ListingTest, NextBeforeSeekMatchesModel) {
  std::vector<std::string> keys = {
      "a/", "a0", "b/", "b/x", "b0", "c/", "c/\xff"s, "c/\xff\xff"s, "c0",
      "d\xff/"s, "d\xff/\xff"s, "d\xff0"s, "d\xff\xff/"s, "d\xff\xff/x"s, "\xff/"s,
      "\xff/\xff"s, "\xff\xff"s,
  };
  for (int i = 0; i < 40; ++i) {
    keys.push_back("big/" + std::to_string(100 + i));  // one prefix, many keys
  }
  for (int i = 0; i < 2 * kListProbeBackoff + 3; ++i) {
    keys.push_back("m" + std::to_string(100 + i) + "/only");  // one key each
  }
  for (int i = 0; i < 5; ++i) {
    keys.push_back("n" + std::to_string(i) + "/1");  // two keys each
    keys.push_back("n" + std::to_string(i) + "/2");
  }
  for (bool flushed : {false, true}) {
    if (flushed) {
      ASSERT_TRUE(db_->db()->Flush(rocksdb::FlushOptions(), db_->handle(Cf::kObjects)).ok());
    } else {
      PutKeys(*db_, 5, keys);
    }
    for (const std::string& prefix : {""s, "c/"s, "d\xff"s, "\xff"s}) {
      for (const std::string& delim : {"/"s, "\xff"s, "0"s}) {
        for (int64_t max : {1, 2, 3, 5, 1000}) {
          for (bool v1 : {false, true}) {
            ExpectPagesMatchModel(*db_, 5, keys, prefix, delim, max, v1);
          }
        }
      }
    }
  }

  // One-key prefixes cost no Seek beyond the first; a big prefix costs one, and its failed
  // probe makes the next kListProbeBackoff prefixes Seek without probing.
  ListRequest req;
  req.bucket = 5;
  req.prefix = "m";
  req.delimiter = "/";
  req.use_dirs_index = false;
  auto r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->common_prefixes.size(), static_cast<std::size_t>(2 * kListProbeBackoff + 3));
  EXPECT_EQ(r->seeks, 1u);
  EXPECT_EQ(r->keys_visited, r->common_prefixes.size());
  req.prefix = "";
  r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  // 31 common prefixes: a/ (probe → "a0"), b/ (probe fails: "b/x"; Seek, backoff), big/ c/
  // d\xff/ d\xff\xff/ m100/..m103/ (8 Seeks), m104/..m118/ (probes resume and succeed), n0/
  // (fails), n1/..n4/ \xff/ (backoff Seeks). The old one-Seek-per-prefix path: 32.
  EXPECT_EQ(r->common_prefixes.size(), 31u);
  EXPECT_EQ(r->seeks, 16u);
}

TEST_F(ListingTest, MaxKeysEdges) {
  std::vector<std::string> keys;
  for (int i = 0; i < 1500; ++i) {
    char b[16];
    std::snprintf(b, sizeof(b), "k%05d", i);
    keys.push_back(b);
  }
  PutKeys(*db_, 1, keys);
  struct Case {
    int64_t max_keys;
    std::size_t want_count;
    bool want_truncated;
    int64_t want_max;
  };
  const Case cases[] = {
      {0, 0, false, 0},          // AWS: empty page, not truncated
      {1, 1, true, 1},
      {999, 999, true, 999},
      {1000, 1000, true, 1000},
      {1001, 1000, true, 1000},   // clamped
      {9999999, 1000, true, 1000},  // aws-cli's default
  };
  for (const Case& c : cases) {
    ListRequest req;
    req.bucket = 1;
    req.max_keys = c.max_keys;
    auto r = ListObjectsV2(*db_, req);
    ASSERT_TRUE(r.has_value()) << c.max_keys;
    EXPECT_EQ(r->objects.size(), c.want_count) << c.max_keys;
    EXPECT_EQ(r->is_truncated, c.want_truncated) << c.max_keys;
    EXPECT_EQ(r->max_keys, c.want_max) << c.max_keys;
  }
  ListRequest req;
  req.bucket = 1;
  req.max_keys = -1;
  auto r = ListObjectsV2(*db_, req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);

  // Exactly max-keys entries left: the page is full but not truncated.
  req.max_keys = 500;
  req.start_after = "k00999";
  r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->objects.size(), 500u);
  EXPECT_FALSE(r->is_truncated);
  EXPECT_TRUE(r->next_continuation_token.empty());
}

TEST_F(ListingTest, StartAfter) {
  PutKeys(*db_, 2, kKeys);
  struct Case {
    std::string name;
    std::string prefix;
    std::string delim;
    std::string start_after;
    std::vector<std::string> objects;
    std::vector<std::string> prefixes;
  };
  const Case cases[] = {
      {"between keys", "", "", "photos/2025/x", {"photos/index.html", "x\x00/z"s, "x\x00y"s,
       "日本/x", "日本/y", "\xff"s, "\xff\xff/a"s}, {}},
      {"exact key is excluded", "photos/", "", "photos/2025/x", {"photos/index.html"}, {}},
      {"not an existing key", "photos/", "", "photos/2024/g", {"photos/2024/jan.jpg",
       "photos/2025/x", "photos/index.html"}, {}},
      {"before the prefix", "photos/2024/", "", "a", {"photos/2024/feb.jpg", "photos/2024/jan.jpg"}, {}},
      {"after everything", "", "", "\xff\xff\xff"s, {}, {}},
      // A marker inside a common prefix skips that prefix whole (it sorts before the marker).
      {"inside a common prefix", "photos/", "/", "photos/2024/feb.jpg", {"photos/index.html"},
       {"photos/2025/"}},
      {"equal to a common prefix", "", "/", "a/", {"b", "x\x00y"s, "\xff"s},
       {"c/", "photos/", "x\x00/"s, "日本/", "\xff\xff/"s}},
      {"just before a common prefix", "", "/", "a", {"b", "x\x00y"s, "\xff"s},
       {"a/", "c/", "photos/", "x\x00/"s, "日本/", "\xff\xff/"s}},
  };
  for (const Case& c : cases) {
    ListRequest req;
    req.bucket = 2;
    req.prefix = c.prefix;
    req.delimiter = c.delim;
    req.start_after = c.start_after;
    for (bool v1 : {false, true}) {
      auto r = v1 ? ListObjectsV1(*db_, req) : ListObjectsV2(*db_, req);
      ASSERT_TRUE(r.has_value()) << c.name;
      EXPECT_EQ(Keys(*r), c.objects) << c.name << (v1 ? " v1" : " v2");
      EXPECT_EQ(r->common_prefixes, c.prefixes) << c.name << (v1 ? " v1" : " v2");
    }
  }
}

TEST_F(ListingTest, ContinuationTokenWinsOverStartAfter) {
  PutKeys(*db_, 2, {"a", "b", "c", "d"});
  ListRequest req;
  req.bucket = 2;
  req.max_keys = 1;
  auto r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->is_truncated);
  req.continuation_token = r->next_continuation_token;
  req.start_after = "c";
  r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(Keys(*r), (std::vector<std::string>{"b"}));
}

TEST_F(ListingTest, ContinuationTokenValidation) {
  PutKeys(*db_, 4, {"a", "b"});
  const std::string good = EncodeContinuationToken(4, "a");
  auto item = DecodeContinuationToken(4, good);
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(*item, "a");
  std::string tampered = good;
  tampered[2] = tampered[2] == 'A' ? 'B' : 'A';
  const std::string bad_tokens[] = {
      "!!!", "AA", "bm90IGEgdG9rZW4", tampered,
      EncodeContinuationToken(5, "a"),  // another bucket's token
  };
  for (const std::string& t : bad_tokens) {
    ListRequest req;
    req.bucket = 4;
    req.continuation_token = t;
    auto r = ListObjectsV2(*db_, req);
    ASSERT_FALSE(r.has_value()) << t;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << t;
  }
  ListRequest v1;
  v1.bucket = 4;
  v1.continuation_token = good;
  EXPECT_EQ(ListObjectsV1(*db_, v1).error().code(), Code::kInvalidArgument);
  // Items with NUL and 0xff bytes survive the token.
  for (std::string it : {"x\x00y"s, "\xff\xff"s, ""s, std::string(1024, 'k')}) {
    auto back = DecodeContinuationToken(4, EncodeContinuationToken(4, it));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, it);
  }
}

TEST_F(ListingTest, ListedObjectFields) {
  ObjectRecord rec;
  rec.size = 3;
  rec.mtime_ms = 1234;
  rec.etag = kMd5;
  rec.location.inline_data = "abc";
  rec.checksums = {{ChecksumAlgorithm::kCrc32c, ChecksumType::kFullObject, "\x01\x02\x03\x04"}};
  std::string v;
  EncodeObject(rec, &v);
  ASSERT_TRUE(db_->Put(Cf::kObjects, ObjectKey(9, "obj"), v).ok());
  ListRequest req;
  req.bucket = 9;
  auto r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->objects.size(), 1u);
  const ListedObject& o = r->objects[0];
  EXPECT_EQ(o.key, "obj");
  EXPECT_EQ(o.size, 3u);
  EXPECT_EQ(o.mtime_ms, 1234);
  EXPECT_EQ(o.etag, kMd5);
  EXPECT_TRUE(o.has_checksum);
  EXPECT_EQ(o.checksum_algorithm, ChecksumAlgorithm::kCrc32c);
}

TEST_F(ListingTest, CorruptRecordIsReported) {
  ASSERT_TRUE(db_->Put(Cf::kObjects, ObjectKey(9, "bad"), "\x01garbage").ok());
  ListRequest req;
  req.bucket = 9;
  auto r = ListObjectsV2(*db_, req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kCorruption);
}

// The delimiter listing seeks past each common prefix: 100k keys under 100 prefixes cost about
// 100 iterator positions, not 100k.
TEST_F(ListingTest, SeekPastCommonPrefixVisitsOneKeyPerPrefix) {
  constexpr int kPrefixes = 100;
  constexpr int kPerPrefix = 1000;
  std::vector<std::string> keys;
  keys.reserve(kPrefixes * kPerPrefix);
  for (int p = 0; p < kPrefixes; ++p) {
    for (int k = 0; k < kPerPrefix; ++k) {
      char b[32];
      std::snprintf(b, sizeof(b), "p%03d/k%05d", p, k);
      keys.push_back(b);
    }
  }
  PutKeys(*db_, 11, keys);
  ASSERT_TRUE(db_->db()->Flush(rocksdb::FlushOptions(), db_->handle(Cf::kObjects)).ok());

  ListRequest req;
  req.bucket = 11;
  req.delimiter = "/";
  // The directory index: one Seek, one entry per prefix.
  auto r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->used_dirs_index);
  EXPECT_EQ(r->common_prefixes.size(), static_cast<std::size_t>(kPrefixes));
  EXPECT_EQ(r->keys_visited, static_cast<uint64_t>(kPrefixes));
  EXPECT_EQ(r->seeks, 1u);
  req.max_keys = 10;
  r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->keys_visited, 11u);  // ten and the look-ahead
  EXPECT_EQ(r->seeks, 1u);
  req.max_keys = 1000;

  // The seek path.
  req.use_dirs_index = false;
  r = ListObjectsV2(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->common_prefixes.size(), static_cast<std::size_t>(kPrefixes));
  EXPECT_TRUE(r->objects.empty());
  EXPECT_FALSE(r->is_truncated);
  // One Seek per prefix; a failed Next() probe adds a visit every kListProbeBackoff + 1.
  const uint64_t probes = kPrefixes / (kListProbeBackoff + 1) + 1;
  EXPECT_LE(r->keys_visited, static_cast<uint64_t>(kPrefixes) + probes);
  EXPECT_LE(r->seeks, static_cast<uint64_t>(kPrefixes) + 1);

  // Paged, 10 prefixes a page: each page visits at most 13 keys (10, the look-ahead, and two
  // probes: the first prefix's and the one after the backoff).
  std::size_t total = 0;
  req.max_keys = 10;
  for (int page = 0; page < 20; ++page) {
    r = ListObjectsV2(*db_, req);
    ASSERT_TRUE(r.has_value());
    EXPECT_LE(r->keys_visited, 13u);
    total += r->common_prefixes.size();
    if (!r->is_truncated) {
      break;
    }
    req.continuation_token = r->next_continuation_token;
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kPrefixes));

  // Without a delimiter a page visits max-keys + 1 keys.
  ListRequest flat;
  flat.bucket = 11;
  flat.max_keys = 1000;
  r = ListObjectsV2(*db_, flat);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->objects.size(), 1000u);
  EXPECT_EQ(r->keys_visited, 1001u);
}

}  // namespace
}  // namespace mamute::store
