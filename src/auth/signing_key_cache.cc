#include "auth/signing_key_cache.h"

#include <openssl/crypto.h>

#include <bit>
#include <cstring>

#include "auth/sigv4.h"

namespace mamute::auth {
namespace {

uint64_t Fnv1a(uint64_t h, std::string_view s) noexcept {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h ^ 0xff;  // separator, so ("ab","c") and ("a","bc") differ
}

uint64_t HashId(std::string_view ak, std::string_view date, std::string_view region,
                std::string_view service) noexcept {
  uint64_t h = 0xcbf29ce484222325ull;
  h = Fnv1a(h, ak);
  h = Fnv1a(h, date);
  h = Fnv1a(h, region);
  return Fnv1a(h, service);
}

}  // namespace

SigningKeyCache::SigningKeyCache(std::size_t capacity) {
  capacity = std::bit_ceil(capacity < kWays ? kWays : capacity);
  entries_.resize(capacity);
  set_mask_ = capacity / kWays - 1;
}

SigningKeyCache::~SigningKeyCache() { Clear(); }

SigningKeyCache::Entry* SigningKeyCache::Lookup(uint64_t hash, std::string_view ak,
                                                std::string_view date, std::string_view region,
                                                std::string_view service) {
  Entry* set = &entries_[(hash & set_mask_) * kWays];
  for (std::size_t w = 0; w < kWays; ++w) {
    Entry& e = set[w];
    if (e.last_used != 0 && e.hash == hash && e.ak_len == ak.size() &&
        e.region_len == region.size() && e.service_len == service.size() &&
        std::memcmp(e.date, date.data(), 8) == 0 &&
        std::memcmp(e.id, ak.data(), ak.size()) == 0 &&
        std::memcmp(e.id + ak.size(), region.data(), region.size()) == 0 &&
        std::memcmp(e.id + ak.size() + region.size(), service.data(), service.size()) == 0) {
      return &e;
    }
  }
  return nullptr;
}

const HmacSha256Key* SigningKeyCache::Find(std::string_view access_key, uint64_t secret_version,
                                           std::string_view date, std::string_view region,
                                           std::string_view service) {
  if (date.size() != 8) {
    return nullptr;
  }
  Entry* e = Lookup(HashId(access_key, date, region, service), access_key, date, region, service);
  if (e == nullptr || e->version != secret_version) {
    return nullptr;
  }
  e->last_used = ++tick_;
  ++hits_;
  return &e->key;
}

const HmacSha256Key& SigningKeyCache::Get(std::string_view access_key, uint64_t secret_version,
                                          std::string_view secret, std::string_view date,
                                          std::string_view region, std::string_view service) {
  if (const HmacSha256Key* k = Find(access_key, secret_version, date, region, service)) {
    return *k;
  }
  ++misses_;
  if (date.size() != 8 || access_key.size() > kMaxAccessKey || region.size() > kMaxRegion ||
      service.size() > kMaxService) {
    // Not cacheable (SigV4Context never produces such ids); derive into a side slot.
    overflow_ = DeriveSigningKey(secret, date, region, service);
    return overflow_;
  }
  const uint64_t hash = HashId(access_key, date, region, service);
  Entry* e = Lookup(hash, access_key, date, region, service);  // stale version: reuse
  if (e == nullptr) {
    Entry* set = &entries_[(hash & set_mask_) * kWays];
    e = &set[0];
    for (std::size_t w = 1; w < kWays; ++w) {
      if (set[w].last_used < e->last_used) {
        e = &set[w];
      }
    }
  }
  e->hash = hash;
  e->version = secret_version;
  e->ak_len = static_cast<uint8_t>(access_key.size());
  e->region_len = static_cast<uint8_t>(region.size());
  e->service_len = static_cast<uint8_t>(service.size());
  std::memcpy(e->date, date.data(), 8);
  std::memcpy(e->id, access_key.data(), access_key.size());
  std::memcpy(e->id + access_key.size(), region.data(), region.size());
  std::memcpy(e->id + access_key.size() + region.size(), service.data(), service.size());
  e->key = DeriveSigningKey(secret, date, region, service);
  e->last_used = ++tick_;
  return e->key;
}

void SigningKeyCache::Invalidate(std::string_view access_key) {
  for (Entry& e : entries_) {
    if (e.last_used != 0 && e.ak_len == access_key.size() &&
        std::memcmp(e.id, access_key.data(), access_key.size()) == 0) {
      e.key = HmacSha256Key();
      e.last_used = 0;
    }
  }
}

void SigningKeyCache::Clear() {
  for (Entry& e : entries_) {
    if (e.last_used != 0) {
      e.key = HmacSha256Key();
      e.last_used = 0;
    }
  }
  overflow_ = HmacSha256Key();
}

std::size_t SigningKeyCache::size() const noexcept {
  std::size_t n = 0;
  for (const Entry& e : entries_) {
    n += e.last_used != 0 ? 1 : 0;
  }
  return n;
}

}  // namespace mamute::auth
