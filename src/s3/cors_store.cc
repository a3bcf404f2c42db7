// The stored CORS configuration (RocksDB, mgmt CF) and the per-shard cache in front of it;
// kept apart from cors.cc so the parser and matcher build (and fuzz) without the store.
#include "s3/cors.h"
#include "store/node.h"
#include "store/records.h"

namespace mamute::s3 {

std::string CorsKey(store::BucketId id) { return store::MgmtKey("bucket_cors", store::BucketKey(id)); }

Status StoreCors(store::NodeStore& node, store::BucketId id, const CorsConfig* config) {
  Status st = config != nullptr ? node.db->Put(store::Cf::kMgmt, CorsKey(id), EncodeCors(*config))
                                : node.db->Delete(store::Cf::kMgmt, CorsKey(id));
  node.bucket_config_epoch.fetch_add(1, std::memory_order_release);
  return st;
}

Result<CorsConfig> LoadCors(store::NodeStore& node, store::BucketId id) {
  std::string v;
  Status st = node.db->Get(store::Cf::kMgmt, CorsKey(id), &v);
  if (!st.ok()) return Err(std::move(st));
  return DecodeCors(v);
}

// ---------------------------------------------------------------- cache

std::shared_ptr<const CorsConfig> CorsCache::Find(std::string_view bucket_name) {
  uint64_t e = node_->bucket_config_epoch.load(std::memory_order_acquire);
  if (e != epoch_) {
    epoch_ = e;
    map_.clear();
  }
  if (auto it = map_.find(bucket_name); it != map_.end()) return it->second;
  std::shared_ptr<const CorsConfig> found;
  std::string v;
  store::BucketId id = 0;
  if (node_->db->Get(store::Cf::kBucketNames, bucket_name, &v).ok() && store::DecodeBucketName(v, &id).ok()) {
    auto c = LoadCors(*node_, id);
    if (c) found = std::make_shared<const CorsConfig>(std::move(*c));
  }
  if (map_.size() >= capacity_) map_.clear();  // bounded; a full reset is cheap
  map_.insert_or_assign(std::string(bucket_name), found);
  return found;
}

}  // namespace mamute::s3
