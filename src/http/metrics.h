// Server metrics: plain counters owned by one shard, written only by it and read
// by the management shard with relaxed atomic loads (no locks anywhere).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/router.h"

namespace mamute::core {
class Shard;
}

namespace mamute::http {

struct ServerMetrics {
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;
  std::string service;  ///< "s3" / "mgmt"
  int shard = 0;
  const std::string_view* route_names = nullptr;
  std::size_t route_count = 0;
  const core::Shard* shard_ptr = nullptr;

  std::atomic<uint64_t> requests[kMaxRoutes][kMaxStatus - kMinStatus + 1] = {};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<int64_t> open_connections{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected_max_connections{0};
  std::atomic<uint64_t> header_timeouts{0};
  std::atomic<uint64_t> idle_timeouts{0};
  std::atomic<uint64_t> body_timeouts{0};
  std::atomic<uint64_t> body_rate_cuts{0};
  std::atomic<uint64_t> write_timeouts{0};
  std::atomic<uint64_t> parse_errors{0};
  std::atomic<uint64_t> aborted_requests{0};
  std::atomic<uint64_t> unconsumed_body_closes{0};
  std::atomic<uint64_t> access_log_dropped{0};

  void Count(uint16_t route, int status) noexcept {
    if (route >= kMaxRoutes || status < kMinStatus || status > kMaxStatus) return;
    requests[route][status - kMinStatus].fetch_add(1, std::memory_order_relaxed);
  }
};

/// Appends one counter (HELP, TYPE and its value, labelled like the servers' counters) in
/// Prometheus text format 0.0.4: services with counters of their own add them to /metrics.
void AppendCounter(std::string* out, const char* name, const char* help, std::string_view service, int shard,
                   uint64_t value);

/// Appends one unlabelled metric (HELP, TYPE `type` = "counter"/"gauge", value): node-wide
/// state such as the store's.
void AppendUnlabelled(std::string* out, const char* name, const char* type, const char* help, int64_t value);

/// All servers' metrics, registered at start-up (cold path), read by /metrics.
class MetricsRegistry {
 public:
  void Add(ServerMetrics* m) { servers_.push_back(m); }
  /// Prometheus text exposition format 0.0.4.
  std::string RenderPrometheus() const;

 private:
  std::vector<ServerMetrics*> servers_;
};

}  // namespace mamute::http
