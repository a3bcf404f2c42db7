// CredentialCache against a real RocksDB: lookups, the epoch refresh, and that a
// credential handed to a request outlives a refresh that empties the cache (a request
// queued for batched verification kept a dangling pointer before; ASan caught it).
#include "s3/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/node.h"
#include "store/records.h"

namespace mamute::s3 {
namespace {

class CredentialCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cred_cache_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto node = store::NodeStore::Open({dir_});
    ASSERT_TRUE(node.has_value()) << node.error().ToString();
    node_ = std::move(*node);
  }
  void TearDown() override {
    node_->Close();
    node_.reset();
    std::filesystem::remove_all(dir_);
  }
  void PutCredential(std::string_view id, std::string_view sealed, store::CredentialStatus status,
                     store::BucketId bucket) {
    store::CredentialRecord rec;
    rec.access_key_id = id;
    rec.sealed_secret = sealed;
    rec.scope.kind = store::ScopeKind::kBucket;
    rec.scope.bucket = bucket;
    rec.status = status;
    std::string v;
    store::EncodeCredential(rec, &v);
    ASSERT_TRUE(node_->db->Put(store::Cf::kCredentials, id, v).ok());
  }
  // "Unseals" by reversing: enough to tell that the cache calls it and keeps its result.
  static Result<std::string> Unseal(std::string_view sealed, std::string_view) {
    return std::string(sealed.rbegin(), sealed.rend());
  }

  std::string dir_;
  std::unique_ptr<store::NodeStore> node_;
};

TEST_F(CredentialCacheTest, LooksUpUnknownInactiveAndActiveKeys) {
  CredentialCache cache(node_.get(), Unseal);
  auto missing = cache.Lookup("AKIDMISSING");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);

  PutCredential("AKIDACTIVE", "terces", store::CredentialStatus::kActive, 7);
  PutCredential("AKIDOFF", "xx", store::CredentialStatus::kInactive, 8);
  auto on = cache.Lookup("AKIDACTIVE");
  ASSERT_TRUE(on.has_value());
  EXPECT_TRUE((*on)->active);
  EXPECT_EQ((*on)->secret, "secret");
  EXPECT_EQ((*on)->bucket, 7u);
  auto off = cache.Lookup("AKIDOFF");
  ASSERT_TRUE(off.has_value());
  EXPECT_FALSE((*off)->active);
  // A second lookup is served from the cache: the same object.
  auto again = cache.Lookup("AKIDACTIVE");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->get(), on->get());
}

TEST_F(CredentialCacheTest, RefreshSeesChangesAndHeldCredentialsSurviveIt) {
  CredentialCache cache(node_.get(), Unseal);
  PutCredential("AKIDA", "1terces", store::CredentialStatus::kActive, 1);
  EXPECT_FALSE(cache.Refresh());  // epoch unchanged
  auto held = cache.Lookup("AKIDA");
  ASSERT_TRUE(held.has_value());
  std::shared_ptr<const Credential> in_flight = *held;

  // The management shard deactivates the key and bumps the epoch.
  PutCredential("AKIDA", "2terces", store::CredentialStatus::kInactive, 1);
  node_->credential_epoch.fetch_add(1, std::memory_order_release);
  EXPECT_TRUE(cache.Refresh());
  EXPECT_FALSE(cache.Refresh());

  // The request that looked the key up before the change still reads valid memory
  // (under ASan this was a heap-use-after-free) and its own snapshot.
  EXPECT_TRUE(in_flight->active);
  EXPECT_EQ(in_flight->secret, "secret1");
  auto now = cache.Lookup("AKIDA");
  ASSERT_TRUE(now.has_value());
  EXPECT_FALSE((*now)->active);
  EXPECT_EQ((*now)->secret, "secret2");
}

TEST_F(CredentialCacheTest, CapacityResetKeepsHeldCredentialsAlive) {
  CredentialCache cache(node_.get(), Unseal, /*capacity=*/2);
  for (int i = 0; i < 5; ++i) {
    PutCredential("AKID" + std::to_string(i), "s" + std::to_string(i), store::CredentialStatus::kActive, i);
  }
  auto first = cache.Lookup("AKID0");
  ASSERT_TRUE(first.has_value());
  for (int i = 1; i < 5; ++i) ASSERT_TRUE(cache.Lookup("AKID" + std::to_string(i)).has_value());
  EXPECT_EQ((*first)->secret, "0s");
  EXPECT_EQ((*first)->bucket, 0u);
}

}  // namespace
}  // namespace mamute::s3
