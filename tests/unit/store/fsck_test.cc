#include "store/fsck.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "store/records.h"
#include "test_util.h"

namespace mamute::store {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::string kMd5(16, '\x07');

void Touch(const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << "data";
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class FsckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = MetaDb::Open(dir_.path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(testing::AddTestBuckets(*db_).ok());
  }
  std::string DataPath(const FileId& id) { return dir_.path() + "/" + DataFileRelPath(id); }
  void PutObject(std::string_view key, DataLocation loc) {
    ObjectRecord r;
    r.etag = kMd5;
    r.location = loc;
    if (loc.kind == LocationKind::kInline) {
      r.size = loc.inline_data.size();
    } else {
      r.size = 4;
    }
    std::string v;
    EncodeObject(r, &v);
    ASSERT_TRUE(db_->Put(Cf::kObjects, ObjectKey(1, key), v).ok());
  }
  void PutPart(uint32_t n, const FileId& id) {
    PartRecord p;
    p.size = 4;
    p.etag_md5 = kMd5;
    p.location = {LocationKind::kFile, {}, id, 0};
    std::string v;
    EncodePart(p, &v);
    ASSERT_TRUE(db_->Put(Cf::kParts, PartKey(UploadId::Make(1, 2), n), v).ok());
  }

  TempDir dir_;
  std::unique_ptr<MetaDb> db_;
};

TEST_F(FsckTest, EmptyStoreIsClean) {
  auto r = Fsck(*db_, FsckOptions{{dir_.path()}, false});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_TRUE(r->clean());
  EXPECT_EQ(r->objects_checked, 0u);
}

TEST_F(FsckTest, FindsOrphansTempsStraysMissingAndCorruptThenRepairs) {
  const FileId live{0x0102000000000000ull, 1};
  const FileId missing{0x0a0b000000000000ull, 2};
  const FileId part{0xabcd000000000000ull, 3};
  const FileId orphan{0xffff000000000000ull, 4};
  Touch(DataPath(live));
  Touch(DataPath(part));
  Touch(DataPath(orphan));
  PutObject("live", {LocationKind::kFile, {}, live, 0});
  PutObject("missing", {LocationKind::kFile, {}, missing, 0});
  PutObject("other-dir", {LocationKind::kFile, {}, live, 5});  // no data dir #5 here
  PutObject("inline", {LocationKind::kInline, "abc", {}, 0});
  PutPart(1, part);
  ASSERT_TRUE(db_->Put(Cf::kObjects, ObjectKey(1, "corrupt"), "\x01\x02").ok());
  const std::string tmp1 = dir_.path() + "/tmp/put-1";
  const std::string tmp2 = dir_.path() + "/tmp/sub/put-2";
  Touch(tmp1);
  Touch(tmp2);
  const std::string stray_dir = dir_.path() + "/objects/zz";
  const std::string stray_name = dir_.path() + "/objects/01/02/not-an-id";
  // A valid id filed under the wrong directories.
  const std::string misfiled = dir_.path() + "/objects/01/02/" + orphan.ToHex();
  fs::create_directories(stray_dir);
  Touch(stray_name);
  Touch(misfiled);

  auto r = Fsck(*db_, FsckOptions{{dir_.path()}, false});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_FALSE(r->clean());
  EXPECT_EQ(r->objects_checked, 5u);
  EXPECT_EQ(r->parts_checked, 1u);
  EXPECT_EQ(r->data_files_seen, 3u);
  EXPECT_EQ(r->orphan_files, std::vector<std::string>{DataPath(orphan)});
  EXPECT_EQ(r->temp_files.size(), 2u);
  EXPECT_TRUE(Contains(r->temp_files, tmp1));
  EXPECT_TRUE(Contains(r->temp_files, tmp2));
  EXPECT_EQ(r->stray_files.size(), 3u);
  EXPECT_TRUE(Contains(r->stray_files, stray_dir));
  EXPECT_TRUE(Contains(r->stray_files, stray_name));
  EXPECT_TRUE(Contains(r->stray_files, misfiled));
  ASSERT_EQ(r->missing.size(), 2u);
  std::vector<std::string> missing_keys;
  for (const MissingData& m : r->missing) {
    EXPECT_EQ(m.cf, Cf::kObjects);
    auto k = DecodeObjectKey(m.key);
    ASSERT_TRUE(k.has_value());
    missing_keys.emplace_back(k->key);
    if (k->key == "missing") {
      EXPECT_EQ(m.path, DataPath(missing));
    }
  }
  EXPECT_TRUE(Contains(missing_keys, "missing"));
  EXPECT_TRUE(Contains(missing_keys, "other-dir"));
  ASSERT_EQ(r->corrupt.size(), 1u);
  EXPECT_TRUE(r->corrupt[0].starts_with("objects: ")) << r->corrupt[0];
  EXPECT_EQ(r->removed, 0u);
  EXPECT_TRUE(fs::exists(DataPath(orphan)));  // report only

  r = Fsck(*db_, FsckOptions{{dir_.path()}, true});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->removed, 3u);  // the orphan and two temp files
  EXPECT_TRUE(r->errors.empty());
  EXPECT_FALSE(fs::exists(DataPath(orphan)));
  EXPECT_FALSE(fs::exists(tmp1));
  EXPECT_FALSE(fs::exists(tmp2));
  EXPECT_TRUE(fs::exists(DataPath(live)));
  EXPECT_TRUE(fs::exists(DataPath(part)));
  EXPECT_TRUE(fs::exists(stray_name));  // strays are left for an operator
  EXPECT_TRUE(fs::exists(misfiled));
  std::string v;
  EXPECT_TRUE(db_->Get(Cf::kObjects, ObjectKey(1, "missing"), &v).ok());  // metadata kept

  r = Fsck(*db_, FsckOptions{{dir_.path()}, false});
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->orphan_files.empty());
  EXPECT_TRUE(r->temp_files.empty());
}

// A completed multipart object names its part files in its own record (format v2): they are
// neither orphans nor leaks; a part file it names that is gone is missing data; a part file no
// record names any more (an aborted upload that crashed before its unlink) is an orphan.
TEST_F(FsckTest, MultipartObjectsKeepTheirPartFiles) {
  const FileId p1{0x1100000000000000ull, 1}, p2{0x2200000000000000ull, 2};
  const FileId gone{0x3300000000000000ull, 3}, in_progress{0x4400000000000000ull, 4};
  const FileId aborted{0x5500000000000000ull, 5};
  for (const FileId& f : {p1, p2, in_progress, aborted}) Touch(DataPath(f));
  ObjectRecord r;
  r.etag_kind = EtagKind::kMultipart;
  r.etag = "0123456789abcdef0123456789abcdef-2";
  r.size = 8;
  r.location.kind = LocationKind::kParts;
  r.parts = {{4, {}, {LocationKind::kFile, {}, p1, 0}}, {4, {}, {LocationKind::kFile, {}, p2, 0}}};
  std::string v;
  EncodeObject(r, &v);
  ASSERT_TRUE(db_->Put(Cf::kObjects, ObjectKey(1, "mpu"), v).ok());
  r.parts[1].location.file = gone;
  EncodeObject(r, &v);
  ASSERT_TRUE(db_->Put(Cf::kObjects, ObjectKey(1, "mpu-missing"), v).ok());
  PutPart(1, in_progress);

  auto rep = Fsck(*db_, FsckOptions{{dir_.path()}, true});
  ASSERT_TRUE(rep.has_value()) << rep.error().ToString();
  EXPECT_EQ(rep->orphan_files, std::vector<std::string>{DataPath(aborted)});
  ASSERT_EQ(rep->missing.size(), 1u);
  EXPECT_EQ(rep->missing[0].path, DataPath(gone));
  EXPECT_TRUE(rep->corrupt.empty());
  for (const FileId& f : {p1, p2, in_progress}) EXPECT_TRUE(fs::exists(DataPath(f)));
  EXPECT_FALSE(fs::exists(DataPath(aborted)));
}

// A part record is an upload's: one whose upload record is gone (an UploadPart that committed
// after its upload ended, before the commit-time check existed) is reported, never deleted.
TEST_F(FsckTest, ReportsPartsWithoutTheirUpload) {
  const FileId part{0xabcd000000000000ull, 5};
  Touch(DataPath(part));
  PutPart(7, part);
  auto r = Fsck(*db_, FsckOptions{{dir_.path()}, false});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->orphan_parts, std::vector<std::string>{UploadId::Make(1, 2).ToHex() + " part 7"});
  EXPECT_FALSE(r->clean());
  EXPECT_TRUE(r->orphan_files.empty());  // its file stays referenced
  UploadRecord up;
  std::string v;
  EncodeUpload(up, &v);
  ASSERT_TRUE(db_->Put(Cf::kUploads, UploadKey(1, "k", UploadId::Make(1, 2)), v).ok());
  r = Fsck(*db_, FsckOptions{{dir_.path()}, true});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_TRUE(r->clean());
  EXPECT_TRUE(fs::exists(DataPath(part)));
}

TEST_F(FsckTest, OfflineFsckNeedsTheDbLock) {
  auto busy = Fsck(dir_.path(), false);
  ASSERT_FALSE(busy.has_value());  // the server (here: db_) holds meta/LOCK
  EXPECT_EQ(busy.error().code(), Code::kIoError);
  Touch(dir_.path() + "/tmp/x");
  ASSERT_TRUE(db_->Close().ok());
  auto r = Fsck(dir_.path(), true);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->removed, 1u);
  EXPECT_FALSE(fs::exists(dir_.path() + "/tmp/x"));
}

TEST(FsckNoDbTest, MissingMetaDirFails) {
  TempDir dir;
  auto r = Fsck(dir.path(), false);
  EXPECT_FALSE(r.has_value());
}

// An interrupted purge leaves records of a bucket whose record is gone: they keep no file alive
// (their files are orphans), are not "missing data", and repair deletes them (objects, uploads
// and the uploads' parts) before the files. A live bucket's records are untouched.
TEST_F(FsckTest, ReclaimsRecordsOfDeletedBuckets) {
  constexpr BucketId kDead = 99;  // no bucket record (AddTestBuckets writes 1..16)
  const FileId live{0x0100000000000000ull, 1}, dead_obj{0x0200000000000000ull, 2};
  const FileId dead_part{0x0300000000000000ull, 3}, dead_mpu_part{0x0400000000000000ull, 4};
  for (const FileId& f : {live, dead_obj, dead_part, dead_mpu_part}) Touch(DataPath(f));
  PutObject("alive", {LocationKind::kFile, {}, live, 0});
  ObjectRecord r;
  r.etag = kMd5;
  r.size = 4;
  r.location = {LocationKind::kFile, {}, dead_obj, 0};
  std::string v;
  EncodeObject(r, &v);
  ASSERT_TRUE(db_->Put(Cf::kObjects, ObjectKey(kDead, "a"), v).ok());
  r.location = {LocationKind::kFile, {}, FileId{0x0500000000000000ull, 5}, 0};  // file already gone
  EncodeObject(r, &v);
  ASSERT_TRUE(db_->Put(Cf::kObjects, ObjectKey(kDead, "b"), v).ok());
  ObjectRecord mpu;
  mpu.etag_kind = EtagKind::kMultipart;
  mpu.etag = "0123456789abcdef0123456789abcdef-1";
  mpu.size = 4;
  mpu.location.kind = LocationKind::kParts;
  mpu.parts = {{4, {}, {LocationKind::kFile, {}, dead_mpu_part, 0}}};
  EncodeObject(mpu, &v);
  ASSERT_TRUE(db_->Put(Cf::kObjects, ObjectKey(kDead, "mpu"), v).ok());
  const UploadId up = UploadId::Make(9, 9);
  EncodeUpload(UploadRecord{}, &v);
  ASSERT_TRUE(db_->Put(Cf::kUploads, UploadKey(kDead, "open", up), v).ok());
  PartRecord p;
  p.size = 4;
  p.etag_md5 = kMd5;
  p.location = {LocationKind::kFile, {}, dead_part, 0};
  EncodePart(p, &v);
  ASSERT_TRUE(db_->Put(Cf::kParts, PartKey(up, 1), v).ok());

  auto rep = Fsck(*db_, FsckOptions{{dir_.path()}, false});
  ASSERT_TRUE(rep.has_value()) << rep.error().ToString();
  EXPECT_FALSE(rep->clean());
  EXPECT_EQ(rep->dead_buckets, std::vector<BucketId>{kDead});
  EXPECT_EQ(rep->dead_bucket_objects, 3u);
  EXPECT_EQ(rep->dead_bucket_uploads, 1u);
  EXPECT_TRUE(rep->missing.empty());  // the dead record naming a gone file is not "missing"
  EXPECT_TRUE(rep->orphan_parts.empty());
  std::vector<std::string> orphans = rep->orphan_files;
  std::sort(orphans.begin(), orphans.end());
  EXPECT_EQ(orphans, (std::vector<std::string>{DataPath(dead_obj), DataPath(dead_part), DataPath(dead_mpu_part)}));
  EXPECT_TRUE(fs::exists(DataPath(dead_obj)));  // report only
  EXPECT_TRUE(db_->Get(Cf::kObjects, ObjectKey(kDead, "a"), &v).ok());

  rep = Fsck(*db_, FsckOptions{{dir_.path()}, true});
  ASSERT_TRUE(rep.has_value()) << rep.error().ToString();
  EXPECT_EQ(rep->records_reclaimed, 5u);  // 3 objects, 1 upload, 1 part
  EXPECT_EQ(rep->removed, 3u);
  EXPECT_TRUE(rep->errors.empty());
  for (const char* k : {"a", "b", "mpu"}) {
    EXPECT_EQ(db_->Get(Cf::kObjects, ObjectKey(kDead, k), &v).code(), Code::kNotFound) << k;
  }
  EXPECT_EQ(db_->Get(Cf::kUploads, UploadKey(kDead, "open", up), &v).code(), Code::kNotFound);
  EXPECT_EQ(db_->Get(Cf::kParts, PartKey(up, 1), &v).code(), Code::kNotFound);
  for (const FileId& f : {dead_obj, dead_part, dead_mpu_part}) EXPECT_FALSE(fs::exists(DataPath(f)));
  EXPECT_TRUE(fs::exists(DataPath(live)));
  EXPECT_TRUE(db_->Get(Cf::kObjects, ObjectKey(1, "alive"), &v).ok());

  rep = Fsck(*db_, FsckOptions{{dir_.path()}, false});
  ASSERT_TRUE(rep.has_value());
  EXPECT_TRUE(rep->clean());
}

}  // namespace
}  // namespace mamute::store
