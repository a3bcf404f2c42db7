#include "store/meta_db.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace mamute::store {
namespace {

using testing::TempDir;

constexpr Cf kAllCfs[] = {Cf::kBuckets,     Cf::kBucketNames, Cf::kObjects, Cf::kUploads,
                          Cf::kParts,       Cf::kCredentials, Cf::kApiKeys, Cf::kMgmt};

TEST(MetaDbTest, CfNames) {
  EXPECT_EQ(CfName(Cf::kBuckets), "buckets");
  EXPECT_EQ(CfName(Cf::kBucketNames), "bucket_names");
  EXPECT_EQ(CfName(Cf::kObjects), "objects");
  EXPECT_EQ(CfName(Cf::kUploads), "uploads");
  EXPECT_EQ(CfName(Cf::kParts), "parts");
  EXPECT_EQ(CfName(Cf::kCredentials), "credentials");
  EXPECT_EQ(CfName(Cf::kApiKeys), "apikeys");
  EXPECT_EQ(CfName(Cf::kMgmt), "mgmt");
}

TEST(MetaDbTest, ColumnFamiliesAreSeparateAndSurviveReopen) {
  TempDir dir;
  {
    auto db = MetaDb::Open(dir.path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    for (Cf cf : kAllCfs) {
      ASSERT_TRUE((*db)->Put(cf, "k", std::string("v-") + std::string(CfName(cf))).ok());
    }
    MetaBatch batch(**db);
    ASSERT_TRUE(batch.Put(Cf::kObjects, "batched", "1").ok());
    ASSERT_TRUE(batch.Delete(Cf::kMgmt, "k").ok());
    EXPECT_EQ(batch.Count(), 2u);
    ASSERT_TRUE((*db)->Write(batch.rep(), true).ok());
    ASSERT_TRUE((*db)->Close().ok());
    ASSERT_TRUE((*db)->Close().ok());  // idempotent
  }
  auto db = MetaDb::Open(dir.path());
  ASSERT_TRUE(db.has_value()) << db.error().ToString();
  for (Cf cf : kAllCfs) {
    std::string v;
    Status s = (*db)->Get(cf, "k", &v);
    if (cf == Cf::kMgmt) {
      EXPECT_EQ(s.code(), Code::kNotFound);
    } else {
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(v, std::string("v-") + std::string(CfName(cf)));
    }
  }
  rocksdb::PinnableSlice pinned;
  ASSERT_TRUE((*db)->Get(Cf::kObjects, "batched", &pinned).ok());
  EXPECT_EQ(pinned.ToString(), "1");
  Cf cf;
  ASSERT_TRUE((*db)->CfFromId((*db)->handle(Cf::kParts)->GetID(), &cf));
  EXPECT_EQ(cf, Cf::kParts);
}

TEST(MetaDbTest, SecondOpenOfTheSameDirFails) {
  TempDir dir;
  auto a = MetaDb::Open(dir.path());
  ASSERT_TRUE(a.has_value());
  auto b = MetaDb::Open(dir.path());
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code(), Code::kIoError) << b.error().ToString();
}

TEST(MetaDbTest, OpenWithoutCreateFailsOnMissingDir) {
  TempDir dir;
  MetaDbOptions o;
  o.create_if_missing = false;
  auto db = MetaDb::Open(dir.path() + "/nope", o);
  EXPECT_FALSE(db.has_value());
}

}  // namespace
}  // namespace mamute::store
