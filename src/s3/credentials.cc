#include "s3/credentials.h"

namespace mamute::s3 {

bool CredentialCache::Refresh() noexcept {
  uint64_t e = node_->credential_epoch.load(std::memory_order_acquire);
  if (e == epoch_) return false;
  epoch_ = e;
  map_.clear();
  return true;
}

Result<std::shared_ptr<const Credential>> CredentialCache::Lookup(std::string_view access_key_id) {
  if (auto it = map_.find(access_key_id); it != map_.end()) return it->second;
  std::string value;
  Status st = node_->db->Get(store::Cf::kCredentials, access_key_id, &value);
  if (!st.ok()) return Err(std::move(st));
  store::CredentialRecord rec;
  MAMUTE_RETURN_IF_ERROR_R(store::DecodeCredential(value, &rec));
  auto owned = std::make_shared<Credential>();
  Credential& c = *owned;
  c.scope_kind = rec.scope.kind;
  c.bucket = rec.scope.bucket;
  c.project_id = std::string(rec.scope.project_id);
  c.active = rec.status == store::CredentialStatus::kActive;
  c.secret_version = rec.secret_version;
  if (!unseal_) return Err(Status::Internal("no secret unsealer configured"));
  auto secret = unseal_(rec.sealed_secret, access_key_id);
  if (!secret) return Err(secret.error());
  c.secret = std::move(*secret);
  if (map_.size() >= capacity_) map_.clear();  // bounded: credentials are few; a full reset is cheap
  std::shared_ptr<const Credential> shared = std::move(owned);
  map_.insert_or_assign(std::string(access_key_id), shared);
  return shared;
}

}  // namespace mamute::s3
