// Per-shard cache of S3 credentials in front of RocksDB. Each shard owns one
// (no locks). Before every authentication the shard compares the node's
// credential epoch (bumped by the management shard after any credential change)
// with the cache's: when it moved, the whole cache — and the signing-key cache —
// is dropped, so a deactivated, regenerated or deleted key fails on the very next
// request on every shard.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mamute/result.h"
#include "store/node.h"
#include "store/records.h"

namespace mamute::s3 {

struct Credential {
  std::string secret;  ///< in clear, in memory only; never logged
  store::ScopeKind scope_kind = store::ScopeKind::kBucket;
  store::BucketId bucket = 0;
  std::string project_id;
  bool active = false;
  uint32_t secret_version = 0;
};

/// Opens a sealed secret (the management API sealed it with the node master key).
using UnsealFn = std::function<Result<std::string>(std::string_view sealed, std::string_view access_key_id)>;

class CredentialCache {
 public:
  CredentialCache(store::NodeStore* node, UnsealFn unseal, std::size_t capacity = 4096)
      : node_(node), unseal_(std::move(unseal)), capacity_(capacity) {}

  /// True when the node's epoch moved since the last call: the caller drops what it
  /// derived from credentials (the signing-key cache). The cache itself is cleared.
  bool Refresh() noexcept;
  /// The credential, or NotFound for an unknown key. Inactive keys are returned with
  /// active=false (the caller answers exactly as for unknown ones). Blocking on a cache
  /// miss: one RocksDB point read (usually from the block cache).
  /// Shared ownership: a request keeps its credential while it waits for a batched
  /// verification, even when a refresh (another request's) empties the cache meanwhile.
  Result<std::shared_ptr<const Credential>> Lookup(std::string_view access_key_id);

 private:
  store::NodeStore* node_;
  UnsealFn unseal_;
  std::size_t capacity_;
  uint64_t epoch_ = 0;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::shared_ptr<const Credential>, Hash, std::equal_to<>> map_;
};

}  // namespace mamute::s3
