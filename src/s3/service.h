// The S3 data-plane service (one per data shard). Until the S3 operations land,
// every S3 request is answered 501 NotImplemented as AWS-shaped XML — never a
// silent wrong answer. With --test-routes it also serves /_test/* routes used by
// the HTTP integration tests and the HTTP benchmark.
#pragma once

#include <cstdint>
#include <vector>

#include "http/router.h"
#include "store/node.h"

namespace mamute::s3 {

struct ServiceConfig {
  bool test_routes = false;
};

class S3Service final : public http::Service {
 public:
  S3Service(ServiceConfig config, store::NodeStore* node) noexcept : config_(config), node_(node) {}
  http::Route Dispatch(http::Exchange& ex) override;
  const std::string_view* route_names(std::size_t* count) const noexcept override;
  std::string_view name() const noexcept override { return "s3"; }

  /// Register with the shard (batch hook for /_test/sleep). On the shard thread.
  void Attach(core::Shard& shard);

  // Sleepers of /_test/sleep (test-only): answered from the batch hook.
  struct Sleeper {
    http::Exchange* ex;
    int64_t deadline_ms;
  };
  void AddSleeper(http::Exchange* ex, int64_t deadline_ms) { sleepers_.push_back({ex, deadline_ms}); }
  void RemoveSleeper(http::Exchange* ex);

 private:
  static void OnBatch(void* ctx);
  ServiceConfig config_;
  store::NodeStore* node_;
  core::Shard* shard_ = nullptr;
  std::vector<Sleeper> sleepers_;
};

}  // namespace mamute::s3
