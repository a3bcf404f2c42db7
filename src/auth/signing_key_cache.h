// Per-shard cache of SigV4 signing keys (HMAC pads precomputed), so a request
// costs the canonical-request hash and one HMAC instead of five HMACs.
//
// Keyed by (access key, date, region, service) and stamped with the secret's
// generation: when a credential's secret changes, the caller bumps the version it
// passes and every older entry for that key stops matching (or Invalidate() drops
// them at once, e.g. when a credential is deactivated or deleted).
//
// One cache per shard, used only by the shard's thread: NOT thread-safe, by design
// (CONVENTIONS habit 1: other cores send messages, never take locks on the hot
// path). Bounded: a fixed number of entries in 4-way sets, least recently used
// evicted. Lookups never allocate; a miss derives the key (5 HMACs) in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "auth/sha256.h"

namespace mamute::auth {

class SigningKeyCache {
 public:
  static constexpr std::size_t kWays = 4;
  static constexpr std::size_t kMaxAccessKey = 128;
  static constexpr std::size_t kMaxRegion = 64;
  static constexpr std::size_t kMaxService = 32;

  /// `capacity` entries (Default: 1024), rounded up to a power of two of at least kWays.
  explicit SigningKeyCache(std::size_t capacity = 1024);
  SigningKeyCache(const SigningKeyCache&) = delete;
  SigningKeyCache& operator=(const SigningKeyCache&) = delete;
  ~SigningKeyCache();

  /// The signing key, or nullptr when not cached under this secret version.
  const HmacSha256Key* Find(std::string_view access_key, uint64_t secret_version,
                            std::string_view date, std::string_view region,
                            std::string_view service);

  /// The cached key, derived from `secret` on a miss or a version change. The
  /// reference stays valid until the next non-const call on this cache: copy the
  /// key (64 bytes) when several are needed at once, e.g. for VerifyBatch.
  const HmacSha256Key& Get(std::string_view access_key, uint64_t secret_version,
                           std::string_view secret, std::string_view date,
                           std::string_view region, std::string_view service);

  /// Drops (and wipes) every entry of this access key.
  void Invalidate(std::string_view access_key);
  /// Drops (and wipes) everything.
  void Clear();

  std::size_t capacity() const noexcept { return entries_.size(); }
  std::size_t size() const noexcept;
  uint64_t hits() const noexcept { return hits_; }
  uint64_t misses() const noexcept { return misses_; }

 private:
  struct Entry {
    uint64_t hash = 0;
    uint64_t version = 0;
    uint64_t last_used = 0;  // 0: empty
    uint8_t ak_len = 0, region_len = 0, service_len = 0;
    char date[8] = {};
    char id[kMaxAccessKey + kMaxRegion + kMaxService] = {};
    HmacSha256Key key;
  };

  Entry* Lookup(uint64_t hash, std::string_view access_key, std::string_view date,
                std::string_view region, std::string_view service);

  std::vector<Entry> entries_;
  std::size_t set_mask_ = 0;
  uint64_t tick_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  HmacSha256Key overflow_;  // for ids too long to cache
};

}  // namespace mamute::auth
