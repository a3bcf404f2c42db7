// The S3 data-plane service (one per data shard).
//
// Request stages (S3Handler): kClassify (path-style bucket/key, sub-resources →
// S3Op) → kAuthenticate (SigV4 Prepare, credential lookup, signing key) →
// kVerify (bodyless requests are verified together at the end of the shard's
// completion batch with the multi-buffer engine; requests with a body at once) →
// kAuthorize (the key's bucket scope) → kExecute. Operations not built yet answer
// 501 NotImplemented XML after authentication — never a silent wrong answer.
// With --test-routes it also serves /_test/* (tests and benchmarks only).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "auth/sigv4.h"
#include "auth/signing_key_cache.h"
#include "http/router.h"
#include "s3/cors.h"
#include "s3/credentials.h"
#include "store/node.h"
#include "store/object_io.h"

namespace mamute::s3 {

struct ServiceConfig {
  bool test_routes = false;
  /// Smallest part (but the last) CompleteMultipartUpload accepts, bytes. Default: 5 MiB (AWS).
  uint64_t multipart_min_part_size = uint64_t{5} << 20;
  /// Multipart uploads initiated longer ago than this are aborted by the sweep, seconds.
  /// Default: 604800 (7 days).
  uint64_t multipart_expiry_s = 604800;
  /// Virtual-host style requests: a Host of "bucket.<domain>[:port]" names the bucket (path style
  /// still works; a Host equal to the domain is path style). Lowercase. Default: empty (off).
  std::string domain;
};

class S3Handler;

class S3Service final : public http::Service {
 public:
  S3Service(ServiceConfig config, store::NodeStore* node, UnsealFn unseal = nullptr);
  ~S3Service() override;
  http::Route Dispatch(http::Exchange& ex) override;
  const std::string_view* route_names(std::size_t* count) const noexcept override;
  std::string_view name() const noexcept override { return "s3"; }

  /// Register with the shard (batch hook) and use its object data path. On the shard thread.
  void Attach(core::Shard& shard, store::ObjectIo* io);
  store::ObjectIo& object_io() noexcept { return *io_; }

  // Sleepers of /_test/sleep and /_test/echo?pause_ms (test-only): answered, or their body
  // resumed, from the batch hook.
  struct Sleeper {
    http::Exchange* ex;
    int64_t deadline_ms;
    bool resume_body;
  };
  void AddSleeper(http::Exchange* ex, int64_t deadline_ms, bool resume_body = false) {
    sleepers_.push_back({ex, deadline_ms, resume_body});
  }
  void RemoveSleeper(http::Exchange* ex);

  // ---- used by S3Handler (shard thread only)
  store::NodeStore& node() noexcept { return *node_; }
  const auth::SigV4Config& sigv4_config() const noexcept { return sigv4_; }
  CredentialCache& credentials() noexcept { return creds_; }
  CorsCache& cors() noexcept { return cors_; }
  auth::SigningKeyCache& signing_keys() noexcept { return keys_; }
  auth::SigV4Context* AcquireContext();
  void ReleaseContext(auth::SigV4Context* ctx);
  void QueueVerify(S3Handler* h) { pending_.push_back(h); }
  void UnqueueVerify(S3Handler* h);
  uint64_t batched_verifications() const noexcept { return batched_; }
  const ServiceConfig& config() const noexcept { return config_; }

 private:
  static void OnBatch(void* ctx);
  void RunVerifyBatch();
  ServiceConfig config_;
  store::NodeStore* node_;
  core::Shard* shard_ = nullptr;
  store::ObjectIo* io_ = nullptr;
  std::vector<Sleeper> sleepers_;
  auth::SigV4Config sigv4_;
  CredentialCache creds_;
  CorsCache cors_;
  auth::SigningKeyCache keys_;
  std::vector<std::unique_ptr<auth::SigV4Context>> ctx_pool_;
  std::vector<S3Handler*> pending_;
  std::vector<S3Handler*> running_;
  uint64_t batched_ = 0;

  // Abandoned multipart uploads (multipart.cc): shard 0 aborts expired uploads, a bounded
  // number of records per tick, so one tick never holds the loop on a long scan.
  struct ExpiryTimer : core::Timer {
    S3Service* svc = nullptr;
  };
  void StartExpirySweep();
  static void OnExpiryTick(core::Timer* t);
  static void OnExpiryAborted(void* ctx, Status st, bool existed);
  std::unique_ptr<core::TimerList> expiry_list_;
  ExpiryTimer expiry_timer_;
  std::string expiry_cursor_;
  uint32_t expiry_in_flight_ = 0;
};

}  // namespace mamute::s3
