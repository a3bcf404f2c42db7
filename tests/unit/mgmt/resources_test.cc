// Resources over a real NodeStore in a temp dir: project isolation, non-empty bucket delete,
// force delete, credential sealing, file listing.
#include "mgmt/resources.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "store/keys.h"
#include "store/records.h"
#include "temp_node.h"

namespace mamute::mgmt {
namespace {

class ResourcesTest : public TempNodeTest {
 protected:
  void SetUp() override {
    TempNodeTest::SetUp();
    res_.emplace(node_.get(), &*box_);
  }
  void TearDown() override {
    res_.reset();
    TempNodeTest::TearDown();
  }
  void PutObject(uint64_t bucket, const std::string& key, const std::string& content_type) {
    static const std::string kEtag(16, '\x11');
    store::ObjectRecord r;
    r.size = 3;
    r.mtime_ms = 1700000000000;
    r.etag = kEtag;
    r.headers.content_type = content_type;
    r.location.kind = store::LocationKind::kInline;
    r.location.inline_data = "abc";
    std::string v;
    store::EncodeObject(r, &v);
    ASSERT_TRUE(node_->db->Put(store::Cf::kObjects, store::ObjectKey(bucket, key), v).ok());
  }

  std::optional<Resources> res_;
};

TEST_F(ResourcesTest, OtherProjectsBucketsAreNotFound) {
  auto b = res_->CreateBucket("prj_a", "bucket-a", "STANDARD", 1);
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(res_->GetBucket("prj_a", b->id).has_value());
  auto other = res_->GetBucket("prj_b", b->id);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), Code::kNotFound);
  EXPECT_EQ(res_->DeleteBucket("prj_b", b->id, true).code(), Code::kNotFound);
  EXPECT_EQ(res_->CreateCredential("prj_b", b->id, 1).error().code(), Code::kNotFound);
  EXPECT_EQ(res_->ListFiles("prj_b", b->id, "", "", "", 10).error().code(), Code::kNotFound);
  EXPECT_TRUE(res_->ListBuckets("prj_b", "", 10)->items.empty());
  // The name is global: another project cannot take it either.
  EXPECT_EQ(res_->CreateBucket("prj_b", "bucket-a", "STANDARD", 1).error().code(), Code::kAlreadyExists);
}

// With force, DeleteBucket removes what addresses the bucket; its contents are purged next by
// store::PurgeBucketContents (tests/unit/store/object_io_test.cc), which needs a shard.
TEST_F(ResourcesTest, NonEmptyDeleteNeedsForce) {
  auto b = res_->CreateBucket("prj_a", "full", "STANDARD", 1);
  ASSERT_TRUE(b.has_value());
  PutObject(b->id, "a.txt", "text/plain");
  PutObject(b->id, "dir/b.txt", "");
  auto files = res_->ListFiles("prj_a", b->id, "", "/", "", 10);
  ASSERT_TRUE(files.has_value());
  ASSERT_EQ(files->items.size(), 1u);
  EXPECT_EQ(files->items[0].key, "a.txt");
  EXPECT_EQ(files->items[0].content_type, "text/plain");
  EXPECT_EQ(files->items[0].etag, "11111111111111111111111111111111");
  ASSERT_EQ(files->common_prefixes.size(), 1u);
  EXPECT_EQ(files->common_prefixes[0], "dir/");

  auto cred = res_->CreateCredential("prj_a", b->id, 1);
  ASSERT_TRUE(cred.has_value());
  uint64_t epoch = node_->credential_epoch.load();
  EXPECT_EQ(res_->DeleteBucket("prj_a", b->id, false).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(res_->DeleteBucket("prj_a", b->id, true).ok());
  EXPECT_GT(node_->credential_epoch.load(), epoch);
  std::string v;
  EXPECT_TRUE(node_->db->Get(store::Cf::kObjects, store::ObjectKey(b->id, "a.txt"), &v).ok());  // for the purge
  EXPECT_EQ(node_->db->Get(store::Cf::kBuckets, store::BucketKey(b->id), &v).code(), Code::kNotFound);
  EXPECT_EQ(node_->db->Get(store::Cf::kBucketNames, "full", &v).code(), Code::kNotFound);
  EXPECT_EQ(node_->db->Get(store::Cf::kCredentials, cred->credential.access_key_id, &v).code(),
            Code::kNotFound);
  // The name is free again.
  EXPECT_TRUE(res_->CreateBucket("prj_a", "full", "STANDARD", 1).has_value());
}

TEST_F(ResourcesTest, CredentialSecretIsSealedWithItsKeyIdAsAad) {
  auto b = res_->CreateBucket("prj_a", "creds", "STANDARD", 1);
  ASSERT_TRUE(b.has_value());
  auto c = res_->CreateCredential("prj_a", b->id, 5);
  ASSERT_TRUE(c.has_value());
  std::string raw;
  ASSERT_TRUE(node_->db->Get(store::Cf::kCredentials, c->credential.access_key_id, &raw).ok());
  EXPECT_EQ(raw.find(c->secret_access_key), std::string::npos);
  store::CredentialRecord rec;
  ASSERT_TRUE(store::DecodeCredential(raw, &rec).ok());
  EXPECT_EQ(rec.scope.kind, store::ScopeKind::kBucket);
  EXPECT_EQ(rec.scope.bucket, b->id);
  EXPECT_EQ(*box_->Open(rec.sealed_secret, rec.access_key_id), c->secret_access_key);
  EXPECT_FALSE(box_->Open(rec.sealed_secret, "MKOTHER").has_value());

  uint64_t epoch = node_->credential_epoch.load();
  auto r = res_->RegenerateCredential("prj_a", b->id, c->credential.access_key_id);
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->secret_access_key, c->secret_access_key);
  EXPECT_EQ(r->credential.secret_version, c->credential.secret_version + 1);
  EXPECT_EQ(node_->credential_epoch.load(), epoch + 1);
  // Another bucket's path cannot address it.
  auto b2 = res_->CreateBucket("prj_a", "creds2", "STANDARD", 1);
  EXPECT_EQ(res_->DeleteCredential("prj_a", b2->id, c->credential.access_key_id).code(), Code::kNotFound);
}

TEST_F(ResourcesTest, ApiKeyRotation) {
  store::MetaBatch batch(*node_->db);
  ASSERT_TRUE(PutApiKey(&batch, "prj_a", "first-key-0123456789", 1).ok());
  ASSERT_TRUE(batch.Put(store::Cf::kMgmt, ProjectKey("prj_a"),
                        EncodeMgmtValue({{"id", "prj_a"}, {"api_key_id", "x"}}))
                  .ok());
  ASSERT_TRUE(node_->commits->Write(&batch).ok());
  ASSERT_TRUE(res_->AuthenticateApiKey("first-key-0123456789").has_value());
  auto k1 = res_->RotateApiKey("prj_a", 2);
  ASSERT_TRUE(k1.has_value());
  auto k2 = res_->RotateApiKey("prj_a", 3);
  ASSERT_TRUE(k2.has_value());
  EXPECT_EQ(res_->AuthenticateApiKey(*k1).error().code(), Code::kUnauthenticated);
  EXPECT_EQ(res_->AuthenticateApiKey(*k2)->project_id, "prj_a");
  EXPECT_EQ(res_->AuthenticateApiKey("").error().code(), Code::kUnauthenticated);
}

}  // namespace
}  // namespace mamute::mgmt
