#include "store/multipart.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <deque>
#include <string>
#include <vector>

#include "test_util.h"
#include "util/encoding.h"

namespace mamute::store {
namespace {

using testing::TempDir;

std::string Md5Of(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(md), n);
}

class MultipartStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = MetaDb::Open(dir_.path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
  }
  UploadId AddUpload(BucketId b, std::string_view key, int64_t initiated_ms, uint64_t rnd = 1) {
    const UploadId id = UploadId::Make(static_cast<uint64_t>(initiated_ms), rnd);
    UploadRecord r;
    r.initiated_ms = initiated_ms;
    r.storage_class = "STANDARD";
    std::string v;
    EncodeUpload(r, &v);
    EXPECT_TRUE(db_->Put(Cf::kUploads, UploadKey(b, key, id), v).ok());
    return id;
  }
  // A part whose MD5 is that of `tag`, in file FileId{number, upload-ish}.
  void AddPart(const UploadId& id, uint32_t n, uint64_t size, std::string_view tag) {
    md5s_.push_back(Md5Of(tag));
    PartRecord p;
    p.size = size;
    p.etag_md5 = md5s_.back();
    p.xxh3 = {n, n};
    p.location = {LocationKind::kFile, {}, FileId{n, 0x77}, 0};
    std::string v;
    EncodePart(p, &v);
    EXPECT_TRUE(db_->Put(Cf::kParts, PartKey(id, n), v).ok());
  }
  static std::string Hex(std::string_view raw) { return util::HexEncode(raw.data(), raw.size()); }

  TempDir dir_;
  std::unique_ptr<MetaDb> db_;
  std::deque<std::string> md5s_;
};

TEST_F(MultipartStoreTest, LoadPartsPagesInNumberOrder) {
  const UploadId id = AddUpload(1, "k", 1000);
  const UploadId other = AddUpload(1, "k", 1000, 2);
  for (uint32_t n : {7u, 1u, 10000u, 3u}) AddPart(id, n, 5, "x");
  AddPart(other, 2, 5, "y");  // another upload's part is never listed
  std::vector<StoredPart> parts;
  bool truncated = true;
  ASSERT_TRUE(LoadParts(*db_, id, 0, 0, &parts, &truncated).ok());
  std::vector<uint32_t> nums;
  for (const auto& p : parts) nums.push_back(p.number);
  EXPECT_EQ(nums, (std::vector<uint32_t>{1, 3, 7, 10000}));
  EXPECT_FALSE(truncated);
  ASSERT_TRUE(LoadParts(*db_, id, 1, 2, &parts, &truncated).ok());
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].number, 3u);
  EXPECT_EQ(parts[1].number, 7u);
  EXPECT_TRUE(truncated);
  EXPECT_EQ(parts[1].rec.size, 5u);  // decoded
  ASSERT_TRUE(LoadParts(*db_, id, 7, 2, &parts, &truncated).ok());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_FALSE(truncated);
  ASSERT_TRUE(LoadParts(*db_, id, 10000, 2, &parts, &truncated).ok());
  EXPECT_TRUE(parts.empty());
}

TEST_F(MultipartStoreTest, CheckCompletionTable) {
  const UploadId id = AddUpload(1, "k", 1000);
  const uint64_t kMin = 5u << 20;
  AddPart(id, 1, kMin, "a");
  AddPart(id, 2, kMin - 1, "b");  // small: only valid as the last part
  AddPart(id, 3, 10, "c");
  AddPart(id, 5, kMin, "e");
  std::vector<StoredPart> stored;
  bool truncated = false;
  ASSERT_TRUE(LoadParts(*db_, id, 0, 0, &stored, &truncated).ok());
  const std::string ea = Hex(Md5Of("a")), eb = Hex(Md5Of("b")), ec = Hex(Md5Of("c")), ee = Hex(Md5Of("e"));
  struct Case {
    const char* name;
    std::vector<RequestedPart> req;
    CompleteError want;
    uint32_t bad;
  };
  const Case cases[] = {
      {"one small last part", {{3, ec}}, CompleteError::kNone, 0},
      {"quoted, upper-case etag", {{1, "\"" + ea + "\""}, {3, "\"" + ec + "\""}}, CompleteError::kNone, 0},
      {"gap in numbers is fine", {{1, ea}, {5, ee}}, CompleteError::kNone, 0},
      {"small part not last", {{2, eb}, {5, ee}}, CompleteError::kEntityTooSmall, 2},
      {"descending", {{5, ee}, {1, ea}}, CompleteError::kInvalidPartOrder, 1},
      {"duplicate", {{1, ea}, {1, ea}}, CompleteError::kInvalidPartOrder, 1},
      {"missing part", {{1, ea}, {4, ee}}, CompleteError::kInvalidPart, 4},
      {"wrong etag", {{1, eb}}, CompleteError::kInvalidPart, 1},
      {"order beats missing", {{9, ea}, {4, ea}}, CompleteError::kInvalidPartOrder, 4},
  };
  for (const Case& c : cases) {
    std::vector<const StoredPart*> chosen;
    uint32_t bad = 0;
    std::vector<RequestedPart> req = c.req;
    if (std::string(c.name) == "quoted, upper-case etag") {
      for (char& ch : req[0].etag) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    EXPECT_EQ(CheckCompletion(req, stored, kMin, &chosen, &bad), c.want) << c.name;
    EXPECT_EQ(bad, c.bad) << c.name;
    if (c.want == CompleteError::kNone) {
      ASSERT_EQ(chosen.size(), c.req.size()) << c.name;
      for (std::size_t i = 0; i < chosen.size(); ++i) EXPECT_EQ(chosen[i]->number, c.req[i].number) << c.name;
    } else {
      EXPECT_TRUE(chosen.empty()) << c.name;
    }
  }
}

TEST_F(MultipartStoreTest, EtagAndAssembledRecord) {
  const UploadId id = AddUpload(1, "k", 1000);
  AddPart(id, 1, 6, "a");
  AddPart(id, 2, 4, "b");
  std::vector<StoredPart> stored;
  bool truncated = false;
  ASSERT_TRUE(LoadParts(*db_, id, 0, 0, &stored, &truncated).ok());
  std::vector<const StoredPart*> chosen = {&stored[0], &stored[1]};
  // S3: md5(md5(a) || md5(b)) in hex, "-", the part count.
  const std::string etag = MultipartEtag(chosen);
  EXPECT_EQ(etag, Hex(Md5Of(Md5Of("a") + Md5Of("b"))) + "-2");
  ObjectRecord rec;
  AssembleObject(chosen, etag, &rec);
  EXPECT_EQ(rec.size, 10u);
  EXPECT_EQ(rec.etag_kind, EtagKind::kMultipart);
  EXPECT_EQ(rec.location.kind, LocationKind::kParts);
  ASSERT_EQ(rec.parts.size(), 2u);
  EXPECT_EQ(rec.parts[1].location.file, (FileId{2, 0x77}));
  EXPECT_EQ(rec.parts[1].xxh3, (Hash128{2, 2}));
  std::string enc;
  EncodeObject(rec, &enc);
  ObjectRecord back;
  ASSERT_TRUE(DecodeObject(enc, &back).ok());
  EXPECT_EQ(back, rec);
}

TEST_F(MultipartStoreTest, UploadRemovalDeletesRecordsAndKeepsNamedFiles) {
  const UploadId id = AddUpload(1, "k", 1000);
  AddPart(id, 1, 6, "a");
  AddPart(id, 2, 6, "b");
  AddPart(id, 3, 6, "c");
  std::vector<StoredPart> parts;
  bool truncated = false;
  ASSERT_TRUE(LoadParts(*db_, id, 0, 0, &parts, &truncated).ok());
  const CommitView view(*db_, nullptr);
  struct Case {
    const char* name;
    std::vector<KeptPart> kept;
    Code want;
  };
  const Case cases[] = {
      {"a kept part's record changed", {{1, parts[0].value}, {3, parts[0].value}}, Code::kFailedPrecondition},
      {"a kept part is gone", {{1, parts[0].value}, {4, parts[0].value}}, Code::kFailedPrecondition},
      {"a kept number below every part", {{0, parts[0].value}}, Code::kFailedPrecondition},
      {"kept parts as read", {{1, parts[0].value}, {3, parts[2].value}}, Code::kOk},
  };
  for (const Case& c : cases) {
    MetaBatch batch(*db_);
    std::vector<FileRef> garbage;
    Status st = RemoveUpload(view, 1, "k", id, c.kept, &batch, &garbage);
    EXPECT_EQ(st.code(), c.want) << c.name;
    if (c.want != Code::kOk) {
      continue;
    }
    EXPECT_EQ(garbage, (std::vector<FileRef>{{0, FileId{2, 0x77}}})) << c.name;
    EXPECT_EQ(batch.Count(), 4u) << c.name;  // the upload and three parts
    ASSERT_TRUE(db_->Write(batch.rep(), /*sync=*/false).ok());
  }
  std::string v;
  UploadRecord rec;
  EXPECT_EQ(LoadUpload(*db_, 1, "k", id, &v, &rec).code(), Code::kNotFound);
  ASSERT_TRUE(LoadParts(*db_, id, 0, 0, &parts, &truncated).ok());
  EXPECT_TRUE(parts.empty());
  // The upload is gone: a second removal (a racing Abort, Complete or expiry) adds nothing.
  MetaBatch batch(*db_);
  std::vector<FileRef> garbage;
  EXPECT_EQ(RemoveUpload(view, 1, "k", id, {}, &batch, &garbage).code(), Code::kNotFound);
  EXPECT_EQ(batch.Count(), 0u);
  EXPECT_TRUE(garbage.empty());
}

TEST_F(MultipartStoreTest, ListUploadsOrderMarkersDelimiter) {
  const UploadId a1 = AddUpload(1, "a", 100, 1);
  const UploadId a2 = AddUpload(1, "a", 200, 1);
  AddUpload(1, std::string("a\0", 2), 50);
  const UploadId b = AddUpload(1, "dir/x", 10);
  AddUpload(1, "dir/y", 10);
  AddUpload(1, "dir2/z", 10);
  AddUpload(2, "a", 10);  // another bucket
  auto keys = [](const ListUploadsResult& r) {
    std::vector<std::string> v;
    for (const auto& u : r.uploads) v.push_back(u.key);
    return v;
  };
  ListUploadsRequest req;
  req.bucket = 1;
  auto r = ListUploads(*db_, req);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(keys(*r), (std::vector<std::string>{"a", "a", std::string("a\0", 2), "dir/x", "dir/y", "dir2/z"}));
  EXPECT_EQ(r->uploads[0].id, a1);  // one key's uploads by initiation time
  EXPECT_EQ(r->uploads[1].id, a2);
  EXPECT_FALSE(r->is_truncated);

  req.max_uploads = 1;  // page through "a"'s two uploads with the id marker
  r = ListUploads(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->is_truncated);
  EXPECT_EQ(r->next_key_marker, "a");
  EXPECT_EQ(r->next_upload_id_marker, a1.ToHex());
  const std::string km = r->next_key_marker, im = r->next_upload_id_marker;
  req.key_marker = km;
  req.upload_id_marker = im;
  r = ListUploads(*db_, req);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->uploads.size(), 1u);
  EXPECT_EQ(r->uploads[0].id, a2);

  req = {};
  req.bucket = 1;
  req.key_marker = "a";  // without an id marker: past every upload of "a"
  r = ListUploads(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(keys(*r).front(), std::string("a\0", 2));

  req = {};
  req.bucket = 1;
  req.delimiter = "/";
  r = ListUploads(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(keys(*r), (std::vector<std::string>{"a", "a", std::string("a\0", 2)}));
  EXPECT_EQ(r->common_prefixes, (std::vector<std::string>{"dir/", "dir2/"}));

  req.max_uploads = 4;  // the page ends on a common prefix: the next page starts past it
  r = ListUploads(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->is_truncated);
  EXPECT_EQ(r->next_key_marker, "dir/");
  const std::string cp_marker = r->next_key_marker;
  req.key_marker = cp_marker;
  r = ListUploads(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->uploads.empty());
  EXPECT_EQ(r->common_prefixes, (std::vector<std::string>{"dir2/"}));
  req.key_marker = {};
  req.max_uploads = kMaxListUploads;

  req.prefix = "dir/";
  r = ListUploads(*db_, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(keys(*r), (std::vector<std::string>{"dir/x", "dir/y"}));
  EXPECT_EQ(r->uploads[0].id, b);
  EXPECT_TRUE(r->common_prefixes.empty());

  req = {};
  req.bucket = 1;
  req.key_marker = "a";
  req.upload_id_marker = "not-an-id";
  EXPECT_EQ(ListUploads(*db_, req).error().code(), Code::kInvalidArgument);
}

TEST_F(MultipartStoreTest, ScanExpiredUploadsInBoundedSteps) {
  AddUpload(1, "old1", 100);
  AddUpload(1, "new", 5000);
  AddUpload(2, "old2", 200);
  AddUpload(3, "old3", 300);
  std::string cursor;
  std::vector<ExpiredUpload> out;
  int scans = 0;
  do {
    ASSERT_TRUE(ScanExpiredUploads(*db_, 1000, 1, &cursor, &out).ok());
    ++scans;
  } while (!cursor.empty() && scans < 10);
  EXPECT_EQ(scans, 4);  // one record per scan
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].key, "old1");
  EXPECT_EQ(out[1].bucket, 2u);
  EXPECT_EQ(out[2].key, "old3");
}

}  // namespace
}  // namespace mamute::store
