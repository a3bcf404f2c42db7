// Resources over a real NodeStore in a temp dir: project isolation, non-empty bucket delete,
// force delete, credential sealing, file listing.
#include "mgmt/resources.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "store/buckets.h"
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
    // Through the commit queue, as every object write: it keeps the directory index.
    store::MetaBatch batch(*node_->db);
    ASSERT_TRUE(batch.Put(store::Cf::kObjects, store::ObjectKey(bucket, key), v).ok());
    ASSERT_TRUE(node_->commits->Write(&batch).ok());
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

TEST_F(ResourcesTest, ProjectCredentialsAreScopedAndIsolated) {
  auto b = res_->CreateBucket("prj_a", "pc-bucket", "STANDARD", 1);
  ASSERT_TRUE(b.has_value());
  auto bucket_cred = res_->CreateCredential("prj_a", b->id, 1);
  auto project_cred = res_->CreateCredential("prj_a", std::nullopt, 2);
  ASSERT_TRUE(bucket_cred.has_value() && project_cred.has_value());
  EXPECT_EQ(project_cred->credential.scope, store::ScopeKind::kProject);
  EXPECT_EQ(project_cred->credential.project_id, "prj_a");
  const std::string pak = project_cred->credential.access_key_id;
  const std::string bak = bucket_cred->credential.access_key_id;
  // The project listing shows both, each with its scope; the bucket listing only its own.
  auto all = res_->ListCredentials("prj_a", std::nullopt);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].access_key_id, pak);
  EXPECT_EQ((*all)[1].access_key_id, bak);
  EXPECT_EQ((*all)[1].scope, store::ScopeKind::kBucket);
  EXPECT_EQ((*all)[1].bucket, b->id);
  EXPECT_EQ(res_->ListCredentials("prj_a", b->id)->size(), 1u);
  // The bucket routes do not reach a project credential; another project reaches neither.
  EXPECT_EQ(res_->SetCredentialActive("prj_a", b->id, pak, false).error().code(), Code::kNotFound);
  for (const std::string& ak : {pak, bak}) {
    EXPECT_EQ(res_->SetCredentialActive("prj_b", std::nullopt, ak, false).error().code(), Code::kNotFound);
    EXPECT_EQ(res_->RegenerateCredential("prj_b", std::nullopt, ak).error().code(), Code::kNotFound);
    EXPECT_EQ(res_->DeleteCredential("prj_b", std::nullopt, ak).code(), Code::kNotFound);
  }
  EXPECT_TRUE(res_->ListCredentials("prj_b", std::nullopt)->empty());
  // The project routes act on both kinds, and every change moves the epoch.
  uint64_t epoch = node_->credential_epoch.load();
  EXPECT_FALSE(res_->SetCredentialActive("prj_a", std::nullopt, bak, false)->active);
  EXPECT_EQ(res_->RegenerateCredential("prj_a", std::nullopt, pak)->credential.secret_version, 2u);
  ASSERT_TRUE(res_->DeleteCredential("prj_a", std::nullopt, pak).ok());
  ASSERT_TRUE(res_->DeleteCredential("prj_a", std::nullopt, bak).ok());
  EXPECT_EQ(node_->credential_epoch.load(), epoch + 4);
  EXPECT_TRUE(res_->ListCredentials("prj_a", std::nullopt)->empty());
  std::string v;
  EXPECT_EQ(node_->db->Get(store::Cf::kMgmt, store::ProjectCredentialKey("prj_a", pak), &v).code(), Code::kNotFound);
  EXPECT_EQ(node_->db->Get(store::Cf::kMgmt, store::BucketCredentialKey(b->id, bak), &v).code(), Code::kNotFound);
}

TEST_F(ResourcesTest, ProjectsOfAnOrganization) {
  auto p1 = res_->CreateProject("org_1", "one", 5);
  auto p2 = res_->CreateProject("org_1", "two", 6);
  auto other = res_->CreateProject("org_2", "one", 7);  // names are unique per organization
  ASSERT_TRUE(p1.has_value() && p2.has_value() && other.has_value());
  EXPECT_EQ(res_->CreateProject("org_1", "one", 8).error().code(), Code::kAlreadyExists);
  EXPECT_EQ(res_->ListProjects("org_1")->size(), 2u);
  EXPECT_EQ(res_->GetProject(p2->project.id)->name, "two");
  EXPECT_EQ(res_->GetProject("prj_missing").error().code(), Code::kNotFound);
  // The API key is the project's, and only its hash is stored.
  EXPECT_EQ(res_->AuthenticateApiKey(p1->api_key)->project_id, p1->project.id);
  std::string v;
  EXPECT_EQ(node_->db->Get(store::Cf::kApiKeys, p1->api_key, &v).code(), Code::kNotFound);
}

TEST_F(ResourcesTest, BucketNamesAreCheckedAtCommitTime) {
  // A creation committed by another writer (S3 on a data shard) between our read and our write.
  store::BucketRecord rec;
  rec.id = 42;
  rec.name = "raced";
  rec.project_id = "prj_b";
  store::MetaBatch first(*node_->db);
  ASSERT_TRUE(store::AddBucketCreation(rec, &first).ok());
  store::BucketCreationCheck check{rec.name, rec.project_id, rec.id};
  ASSERT_TRUE(node_->commits->Write(&first, &store::CheckBucketCreation, &check).ok());
  store::MetaBatch again(*node_->db);
  rec.id = 43;
  ASSERT_TRUE(store::AddBucketCreation(rec, &again).ok());
  check.id = 43;
  EXPECT_EQ(node_->commits->Write(&again, &store::CheckBucketCreation, &check).code(), Code::kAlreadyExists);
  EXPECT_TRUE(check.owned);
  store::BucketCreationCheck foreign{"raced", "prj_a", 44};
  store::MetaBatch third(*node_->db);
  EXPECT_EQ(node_->commits->Write(&third, &store::CheckBucketCreation, &foreign).code(), Code::kAlreadyExists);
  EXPECT_FALSE(foreign.owned);
  EXPECT_EQ(res_->CreateBucket("prj_a", "raced", "STANDARD", 1).error().code(), Code::kAlreadyExists);
  std::string v;
  EXPECT_EQ(node_->db->Get(store::Cf::kBuckets, store::BucketKey(43), &v).code(), Code::kNotFound);
}

TEST_F(ResourcesTest, BucketRemovalTakesUploadsPartsAndCredentials) {
  auto b = res_->CreateBucket("prj_a", "removed", "STANDARD", 1);
  ASSERT_TRUE(b.has_value());
  auto cred = res_->CreateCredential("prj_a", b->id, 1);
  ASSERT_TRUE(cred.has_value());
  const store::UploadId up = store::UploadId::Make(1000, 7);
  store::UploadRecord ur;
  std::string uv, pv;
  store::EncodeUpload(ur, &uv);
  store::PartRecord pr;
  pr.size = 5;
  pr.etag_md5 = std::string_view("0123456789abcdef");
  pr.location.kind = store::LocationKind::kFile;
  pr.location.file = store::FileId{1, 2};
  store::EncodePart(pr, &pv);
  ASSERT_TRUE(node_->db->Put(store::Cf::kUploads, store::UploadKey(b->id, "k", up), uv).ok());
  ASSERT_TRUE(node_->db->Put(store::Cf::kParts, store::PartKey(up, 1), pv).ok());
  auto has = store::BucketHasObjects(*node_->db, b->id);
  ASSERT_TRUE(has.has_value());
  EXPECT_FALSE(*has);
  std::string raw;
  ASSERT_TRUE(node_->db->Get(store::Cf::kBuckets, store::BucketKey(b->id), &raw).ok());
  store::BucketRecord rec;
  ASSERT_TRUE(store::DecodeBucket(raw, &rec).ok());
  store::MetaBatch batch(*node_->db);
  std::vector<store::FileRef> garbage;
  std::size_t creds = 0;
  ASSERT_TRUE(store::AddBucketRemoval(*node_->db, rec, &batch, &creds).ok());
  store::BucketUploadsRemoval uploads{rec.id, &garbage};
  ASSERT_TRUE(node_->commits->Write(&batch, &store::RemoveBucketUploads, &uploads).ok());
  EXPECT_EQ(creds, 1u);
  ASSERT_EQ(garbage.size(), 1u);
  EXPECT_EQ(garbage[0].file, (store::FileId{1, 2}));
  std::string v;
  EXPECT_EQ(node_->db->Get(store::Cf::kParts, store::PartKey(up, 1), &v).code(), Code::kNotFound);
  EXPECT_EQ(node_->db->Get(store::Cf::kUploads, store::UploadKey(b->id, "k", up), &v).code(), Code::kNotFound);
  EXPECT_EQ(node_->db->Get(store::Cf::kCredentials, cred->credential.access_key_id, &v).code(), Code::kNotFound);
  EXPECT_EQ(node_->db->Get(store::Cf::kBucketNames, "removed", &v).code(), Code::kNotFound);
  EXPECT_TRUE(res_->ListBuckets("prj_a", "", 10)->items.empty());
}

}  // namespace
}  // namespace mamute::mgmt
